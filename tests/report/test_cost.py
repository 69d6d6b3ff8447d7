import json

import pytest

from slowmem.config import Config, ConfigError
from slowmem.errors import StoredFileError
from slowmem.report import cost as scale
from slowmem.task import SPMTask


def _bench(tmp_path, rows):
    p = tmp_path / "bench.json"
    p.write_text(json.dumps({"created": "x", "processor": "cpu", "cpus": 2, "torch": "2", "rows": rows}))
    return p


def _row(N, engine, dtype, threads, B, rate, ratio=1.0, procs=1):
    return {"N": N, "engine": engine, "dtype": dtype, "threads": threads, "procs": procs, "B": B,
            "cores_used": threads * procs, "net_steps_per_s": rate, "ratio_vs_naive": ratio}


def test_read_benchmark_and_fastest(tmp_path):
    rows = [_row(300, "numpy", "float64", 1, 1, 10.0), _row(300, "numba", "float64", 2, 2, 50.0, 5.0),
            _row(300, "numba", "float64", 2, 8, 70.0, 7.0), _row(300, "torch", "float64", 2, 8, 60.0, 6.0),
            _row(300, "numba", "float64", 1, 8, 90.0, 9.0), _row(300, "numba", "float64", 1, 8, 80.0, 8.0, procs=2)]
    info, table = scale.read_benchmark(_bench(tmp_path, rows))
    assert info["cpus"] == 2 and len(table) == 6
    best = scale.fastest(table, cores=2)
    assert best.net_steps_per_s.tolist() == [80.0] and best.procs.tolist() == [2]
    assert scale.fastest(table, cores=1).net_steps_per_s.tolist() == [90.0]
    assert scale.fastest(table).net_steps_per_s.tolist() == [90.0]
    assert not table.shared_J.any()                                # rows from before shared_J existed
    # rows of networks that share g J (a sweep slice) are ranked apart from independent networks
    rows.append({**_row(300, "numba", "float64", 1, 6, 120.0, 12.0, procs=2), "shared_J": True})
    _, table = scale.read_benchmark(_bench(tmp_path, rows))
    both = scale.fastest(table, cores=2)
    assert both.shared_J.tolist() == [False, True] and both.net_steps_per_s.tolist() == [80.0, 120.0]
    assert scale.fastest(table, cores=2, shared=False).net_steps_per_s.tolist() == [80.0]
    assert scale.fastest(table, shared=True).B.tolist() == [6]


def test_bad_benchmark_files_are_named(tmp_path):
    with pytest.raises(StoredFileError, match="no benchmark file.*make benchmark"):
        scale.read_benchmark(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(StoredFileError, match="not a readable benchmark file"):
        scale.read_benchmark(bad)
    bad.write_text('{"machine": "x"}')
    with pytest.raises(StoredFileError, match="lacks rows"):
        scale.read_benchmark(bad)
    with pytest.raises(StoredFileError, match="lack"):
        scale.read_benchmark(_bench(tmp_path, [{"N": 300}]))


def test_grid_cost_and_roofline():
    paper = Config.from_preset("paper")
    task = SPMTask(paper.task)
    assert scale.network_steps(paper) == 3500 * task.T
    # 672 networks at 1 network-step per second
    assert scale.grid_hours(672, paper, 1.0) == pytest.approx(672 * 3500 * task.T / 3600)
    with pytest.raises(ConfigError, match="rate must be > 0"):
        scale.grid_hours(1, paper, 0.0)
    # 150 window steps of 350, an update every 2nd: W read + 3 N^2 per update step
    frac = int(task.response_mask.sum() + task.memory_mask.sum()) / 2 / task.T
    assert scale.bytes_per_network_step(1000, "float64", task) == pytest.approx(8e6 * (1 + 3 * frac))
    f64 = scale.roofline_rate(1000, "float64", 1000.0)
    assert scale.roofline_rate(1000, "float32", 1000.0) == pytest.approx(2 * f64)


def test_stored_compute_counts_a_unit_once_and_analyses_per_network():
    import pandas as pd

    t = pd.DataFrame({"success": [True, True, False, True], "batch_size": 2,
                      "train_seconds": [3600.0, 3600.0, 1800.0, 1800.0],
                      "analysis_seconds": ['{"memory": 60, "dynamics": 30}', '{"memory": 30}', None, '{}']})
    c = scale.stored_compute(t)
    assert (c["networks"], c["succeed"], c["batch"]) == (4, 3, 2)
    assert c["train_hours"] == pytest.approx(1.5)           # two units: one hour and half an hour
    assert c["analysis_seconds_median"] == 30 and c["analysis_hours"] == pytest.approx(120 / 3600)
