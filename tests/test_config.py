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
                                         ([4, 4, 2], [2, 4])])
def test_parse_seeds(spec, seeds):
    assert parse_seeds(spec) == seeds


@pytest.mark.parametrize("spec", ["3-1", "a", "-2", "", [1.5], True])
def test_parse_seeds_rejects(spec):
    with pytest.raises(ConfigError, match="seeds"):
        parse_seeds(spec)
