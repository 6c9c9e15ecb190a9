"""Suite-wide settings and shared fixtures.

In CI, hypothesis draws the same examples every run.
"""

import os

import pytest
from hypothesis import settings

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
