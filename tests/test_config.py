import re

import pytest

from slowmem.config import DEFAULT_TIMING, PRESETS, Config, ConfigError, TaskConfig, duration_to_steps, parse_seeds


def test_presets_build_and_paper_matches_paper_md():
    for name in PRESETS:
        Config.from_preset(name)
    p = Config.from_preset("paper")
    assert p.network.N == 1000 and p.training.trials == 3500 and p.network.in_scale == 50
    assert p.task.dt == 0.1 and p.task.tau == 1.0 and p.task.trial_steps == 350
    assert p.training.update_every == 2 and p.training.alpha == 1.0 and p.training.test_trials == 20


@pytest.mark.parametrize("kw, word", [
    ({"N": 0}, "N must be an integer"),
    ({"N": 2.5}, "N must be an integer"),
    ({"g": "abc"}, "g must be a number"),
    ({"rule": "hebb"}, "rule must be one of 'modified', 'original'"),
    ({"pg": 0}, "pg must be a number in (0, 1]"),
    ({"pg": 1.01}, "pg must be a number in (0, 1]"),
    ({"fb": -1}, "fb must be"),
    ({"dtype": "float16"}, "dtype must be one of"),
    ({"device": "tpu"}, "'device' is a run setting"),
    ({"gain": 1.0}, "unknown setting(s) ['gain']"),
    ({"trials": True}, "trials must be an integer"),
    ({"g": float("nan")}, "g must be a number"),
])
def test_bad_values_name_the_parameter(kw, word):
    with pytest.raises(ConfigError) as e:
        Config.from_preset("ci", **kw)
    assert word in str(e.value)


def test_unknown_preset():
    with pytest.raises(ConfigError, match="preset must be one of"):
        Config.from_preset("huge")


def test_numeric_strings_are_accepted_like_cli_flags():
    c = Config.from_preset("ci", N="150", g="1.4", trials="10")
    assert (c.network.N, c.network.g, c.training.trials) == (150, 1.4, 10)


def test_timing_must_be_multiple_of_dt_never_floored():
    with pytest.raises(ConfigError, match=r"delay1.*not a whole multiple of dt"):
        TaskConfig(timing={"delay1": 5.05})
    assert duration_to_steps("x", 5.0, 0.1) == 50
    t = TaskConfig(timing={"delay1": 20})
    assert t.timing["delay1"] == 20 and t.timing["stim1"] == DEFAULT_TIMING["stim1"]
    assert t.period_steps["delay1"] == 200 and t.trial_steps == 500
    with pytest.raises(ConfigError, match="unknown period"):
        TaskConfig(timing={"delay3": 5})


def test_encoding_and_digits_validated():
    with pytest.raises(ConfigError, match="distinct"):
        TaskConfig(encoding=(1.0, 1.0, 0.5))
    with pytest.raises(ConfigError, match="two different classes"):
        TaskConfig(digits=(3, 3))


def test_roundtrip_dict():
    c = Config.from_preset("book", g=1.4, rule="original")
    assert Config.from_dict(c.to_dict()) == c
    assert c.replace(N=64).network.N == 64


@pytest.mark.parametrize("spec, seeds", [(3, [3]), ("0-3", [0, 1, 2, 3]), ("5,1,2-3", [1, 2, 3, 5]),
                                         ([4, 2], [2, 4])])
def test_parse_seeds(spec, seeds):
    assert parse_seeds(spec) == seeds


@pytest.mark.parametrize("spec", ["3-1", "a", "-2", "", [1.5], True])
def test_parse_seeds_rejects(spec):
    with pytest.raises(ConfigError, match="seeds"):
        parse_seeds(spec)


# --------------------------------------------------------------------------- #
# each parameter declared once (slowmem.config.params)
# --------------------------------------------------------------------------- #
def test_every_scalar_field_of_the_five_sections_is_declared():
    import dataclasses

    from slowmem.config import DynamicsConfig, MemoryConfig, NetworkConfig, TrainingConfig, declared_params
    for cls in (TaskConfig, NetworkConfig, TrainingConfig, MemoryConfig, DynamicsConfig):
        params = declared_params(cls)
        assert [f.name for f in dataclasses.fields(cls)] == list(params), cls
        assert all(p.help for p in params.values()), cls
        assert "Attributes:" in cls.__doc__ and all(f"{n}: " in cls.__doc__ for n in params)


@pytest.mark.parametrize("cls_name, name", [
    ("NetworkConfig", "N"), ("NetworkConfig", "g"), ("NetworkConfig", "pg"), ("NetworkConfig", "fb"),
    ("TrainingConfig", "test_trials"), ("TaskConfig", "dt"), ("MemoryConfig", "horizon_threshold"),
    ("MemoryConfig", "half_failure"), ("DynamicsConfig", "saturation"), ("DynamicsConfig", "manifold_slow_ratio"),
])
def test_declared_bounds_are_enforced_at_their_edges(cls_name, name):
    import slowmem.config as config

    cls = getattr(config, cls_name)
    p = config.declared_params(cls)[name]
    eps = 1e-9
    for bound, is_open, outside in ((p.lo, p.lo_open, -1), (p.hi, p.hi_open, +1)):
        if bound is None:
            continue
        if is_open:
            with pytest.raises(ConfigError, match=f"{name} must be .* in " + re.escape(p.interval()[0])):
                cls(**{name: bound})
        else:
            assert getattr(cls(**{name: bound}), name) == bound
        step = 1 if p.kind == "int" else eps
        with pytest.raises(ConfigError, match=f"^{name} must be "):
            cls(**{name: bound + outside * step})


def test_a_declaration_drives_validation():
    """A field declared with param() is checked by check_declared: no hand-written check is needed."""
    from dataclasses import dataclass

    from slowmem.config import Param, check_declared, param

    @dataclass(frozen=True)
    class Demo:
        n: int = param(3, kind="int", lo=2, hi=5, help="a count")
        x: float | None = param(None, kind="float", lo=0, lo_open=True, optional=True, help="a scale")
        mode: str = param("a", kind="choice", choices=("a", "b"), help="a mode")

        def __post_init__(self):
            check_declared(self)

    assert Demo(n="5", x=0.5).n == 5 and Demo().x is None
    with pytest.raises(ConfigError, match=re.escape("n must be an integer in [2, 5]; got 6")):
        Demo(n=6)
    with pytest.raises(ConfigError, match=re.escape("x must be a number in (0, inf); got 0")):
        Demo(x=0)
    with pytest.raises(ConfigError, match="mode must be one of 'a', 'b'"):
        Demo(mode="c")
    assert Param("int", lo=2, hi=20000).describe() == "integer in [2, 20000]"
    assert Param("float", lo=0, hi=1, lo_open=True).describe() == "number in (0, 1]"
    assert Param("choice", choices=("modified", "original")).describe() == "one of modified, original"
    assert Param("float", lo=0, lo_open=True, optional=True).describe() == "number in (0, inf) or None"
    with pytest.raises(ConfigError, match="Param kind must be one of"):
        Param("complex")
