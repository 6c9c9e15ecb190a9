"""Suite-wide settings and shared fixtures.

In CI, hypothesis draws the same examples every run. Under pytest-xdist each worker
gets its share of the cores for torch, BLAS and numba threads (``cores // workers``, at
least 1): two workers on two cores that each start a thread per core would otherwise
spin against each other (a workspace calibration ran 2.7x slower in wall time that way).
"""

import os

import pytest
from hypothesis import settings


def _threads_per_worker() -> int:
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    return max(1, (os.cpu_count() or 1) // max(workers, 1))


if "PYTEST_XDIST_WORKER" in os.environ:
    for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, str(_threads_per_worker()))


@pytest.fixture(autouse=True, scope="session")
def _worker_threads():
    """Torch and numba threads per xdist worker (see the module notes)."""
    if "PYTEST_XDIST_WORKER" in os.environ:
        import numba
        import torch

        n = _threads_per_worker()
        torch.set_num_threads(n)
        numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    yield

settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def torch_one_thread():
    """Small tensors: one torch CPU thread is much faster, above all on a busy machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
