"""slowmem.runtime.Runtime: every run setting validated, apart from the science config."""
import dataclasses

import pytest
import torch

from slowmem.config import Config, ConfigError, DynamicsConfig, MemoryConfig, TrainingConfig, network_id
from slowmem.network import resolve_device
from slowmem.runtime import DEFAULT_MAX_CHUNK_ELEMENTS, ENGINES, Runtime, as_runtime, check_device


def test_defaults_are_the_package_defaults_and_round_trip():
    r = Runtime()
    assert r.to_dict() == {"device": "cpu", "engine": "auto", "threads": None,
                           "max_chunk_elements": DEFAULT_MAX_CHUNK_ELEMENTS, "chunk_trials": 1,
                           "simulation_dtype": "float32", "progress": True}
    assert DEFAULT_MAX_CHUNK_ELEMENTS == 2 ** 24 and ENGINES == ("auto", "torch", "numba")
    other = Runtime(device="cuda:1", engine="torch", threads=3, max_chunk_elements=10, chunk_trials=4,
                    simulation_dtype="float64", progress=False)
    assert Runtime.from_dict(other.to_dict()) == other
    assert as_runtime(None) == Runtime() and as_runtime(other) is other
    assert Runtime(threads="2", chunk_trials=3.0).threads == 2          # CLI text and whole floats are accepted
    assert Runtime().replace(threads=None, chunk_trials=5) == Runtime(chunk_trials=5)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.device = "cuda"


@pytest.mark.parametrize("kw, words", [
    ({"device": "gpu"}, "device must be 'cpu', 'cuda' or 'cuda:K'; got 'gpu'"),
    ({"device": "cuda:x"}, "device must be"),
    ({"device": 0}, "device must be"),
    ({"engine": "fast"}, "engine must be one of auto, torch, numba; got 'fast'"),
    ({"engine": "numba", "device": "cuda"}, "engine 'numba' runs on the CPU only"),
    ({"threads": 0}, "threads must be an integer in [1, 4096]"),
    ({"threads": 1.5}, "threads must be an integer"),
    ({"max_chunk_elements": 0}, "max_chunk_elements must be an integer in [1, "),
    ({"chunk_trials": True}, "chunk_trials must be an integer"),
    ({"simulation_dtype": "float16"}, "simulation_dtype must be one of float32, float64; got 'float16'"),
    ({"progress": "yes"}, "progress must be True or False"),
])
def test_bad_run_settings_name_the_field_and_what_is_allowed(kw, words):
    with pytest.raises(ConfigError) as e:
        Runtime(**kw)
    assert words in str(e.value)


def test_replace_and_from_dict_refuse_unknown_settings():
    with pytest.raises(ConfigError, match=r"unknown run setting\(s\) \['gpu'\]; allowed: chunk_trials, device"):
        Runtime().replace(gpu=True)
    with pytest.raises(ConfigError, match="runtime must be a slowmem.runtime.Runtime"):
        as_runtime({"device": "cpu"})


def test_device_is_checked_in_one_place():
    assert check_device("cpu") == "cpu" and check_device(torch.device("cpu")) == "cpu"
    assert check_device(" cuda:2 ") == "cuda:2"
    assert resolve_device("cpu") == torch.device("cpu") == Runtime().torch_device()
    for bad in ("tpu", "cuda:", "CPU"):
        with pytest.raises(ConfigError, match="device must be 'cpu', 'cuda' or 'cuda:K'"):
            resolve_device(bad)
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="CUDA is not available here"):
            Runtime(device="cuda").torch_device()


def test_apply_threads_and_engine_threads():
    before = torch.get_num_threads()
    try:
        Runtime().apply_threads()
        assert torch.get_num_threads() == before and Runtime().engine_threads() == before
        Runtime(threads=1).apply_threads()
        assert torch.get_num_threads() == 1 and Runtime(threads=3).engine_threads() == 3
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("make, key", [
    (lambda: Config.from_preset("ci", device="cuda"), "device"),
    (lambda: Config.from_preset("ci").replace(engine="torch"), "engine"),
    (lambda: TrainingConfig(device="cpu"), "device"),
    (lambda: DynamicsConfig(chunk_trials=2), "chunk_trials"),
    (lambda: DynamicsConfig(max_chunk_elements=10), "max_chunk_elements"),
    (lambda: MemoryConfig(simulation_dtype="float64"), "simulation_dtype"),
    (lambda: dataclasses.replace(MemoryConfig(), max_chunk_elements=1), "max_chunk_elements"),
    (lambda: Config().with_analysis(dynamics={"simulation_dtype": "float64"}), "simulation_dtype"),
])
def test_run_settings_given_to_the_science_config_say_where_they_go(make, key):
    with pytest.raises(ConfigError) as e:
        make()
    msg = str(e.value)
    assert f"'{key}' is a run setting" in msg and f"Runtime({key}=...)" in msg and "--" in msg


def test_identity_holds_no_run_setting_and_old_stored_configs_still_read():
    cfg = Config.from_preset("ci", seed=3)
    d = cfg.to_dict()
    assert "device" not in d["training"]
    assert not {"chunk_trials", "max_chunk_elements", "simulation_dtype"} & (set(d["dynamics"]) | set(d["memory"]))
    old = {**d, "training": {**d["training"], "device": "cuda"},
           "dynamics": {**d["dynamics"], "chunk_trials": 4, "simulation_dtype": "float64"},
           "memory": {**d["memory"], "max_chunk_elements": 5}}
    back = Config.from_dict(old)                     # stored by slowmem before 0.3: the run settings are dropped
    assert back == cfg and network_id(back) == network_id(cfg)
