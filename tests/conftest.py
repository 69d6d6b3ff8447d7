import os

import pytest
import torch

os.environ.setdefault("MPLBACKEND", "Agg")
torch.set_num_threads(min(2, os.cpu_count() or 1))


@pytest.fixture(scope="session")
def task():
    from slowmem.task import SPMTask

    return SPMTask()


@pytest.fixture
def one_torch_thread():
    """One torch thread for the test (as each Dask worker uses); tiny in-process sweeps only contend with more."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
