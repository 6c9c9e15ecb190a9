"""The backend conformance suite: every test here runs on every registered backend.

A test asks for the ``backend`` fixture (the backend's name) and declares the
features it needs with ``@pytest.mark.features("poisson", ...)``. The fixture skips a
backend whose module does not exist yet, and a (backend, feature) or (backend,
test name) pair listed in ``UNSUPPORTED`` -- the one place where gaps are written
down, each with its reason.

Each collected item also carries the mark of its backend (``brian2``, ``numba``,
``torch``), so ``pytest -m numba tests/backends`` runs one backend. Tests written by
the engine owners (the Vogels-Abbott CUBA benchmark as ``test_cuba``, training as
``test_training``) plug in the same way: take the ``backend`` fixture, mark the
features ("cuba", "training"), and list gaps here.
"""

from __future__ import annotations

import importlib.util

import pytest

from neuroattn.backends import BACKENDS, simulate

#: (backend, feature or test name) -> why that backend does not run it.
UNSUPPORTED = {
    ("brian2", "batch_invariance"): (
        "Brian2's generator is seeded once per chunk from (seed, first trial), so trial t's "
        "intrinsic noise depends on batch_size (documented in docs/backends.md)"),
    ("brian2", "training"): "Brian2 is not differentiable; training runs on the torch backend",
    ("numba", "training"): "the Numba engine computes no gradients; use the torch backend",
    ("brian2", "test_task_agreement"): "the reference itself: other backends are held to it",
    ("brian2", "test_cuba_statistics_match_brian2"): "the reference the test compares against",
    ("brian2", "test_cuba_is_bit_identical_run_to_run"): (
        "Brian2's own run-to-run determinism is tested in test_determinism.py"),
}

FEATURES = ("lif", "escape", "noise", "poisson", "v_probe", "spikes_probe", "delay",
            "batch_invariance", "nan_check", "cuba", "training")


def _module_present(module: str) -> bool:
    """True for an existing module or regular package (a bare folder does not count)."""
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        return False
    return spec is not None and spec.origin is not None


def pytest_configure(config):
    config.addinivalue_line("markers", "features(*names): backend features a conformance "
                            f"test needs; one of {FEATURES}")
    for name in BACKENDS:
        config.addinivalue_line("markers", f"{name}: conformance test run on the {name} backend")


def pytest_collection_modifyitems(config, items):
    for item in items:
        spec = getattr(item, "callspec", None)
        if spec is not None and spec.params.get("backend") in BACKENDS:
            item.add_marker(getattr(pytest.mark, spec.params["backend"]))


@pytest.fixture(params=sorted(BACKENDS))
def backend(request) -> str:
    """Name of the backend under test; skips missing modules and UNSUPPORTED pairs."""
    name = request.param
    if not _module_present(BACKENDS[name]):
        pytest.skip("backend module not present yet")
    wanted = [request.node.originalname]
    for mark in request.node.iter_markers("features"):
        for feature in mark.args:
            if feature not in FEATURES:
                raise ValueError(f"unknown feature {feature!r}; expected one of {FEATURES}")
            wanted.append(feature)
    for key in wanted:
        if (name, key) in UNSUPPORTED:
            pytest.skip(f"{name} does not support {key}: {UNSUPPORTED[(name, key)]}")
    return name


#: options every conformance run passes to a backend: the tests compare against float64
#: oracles to ~1e-12, so torch runs in float64 here (its default is float32).
BACKEND_OPTIONS = {"torch": {"dtype": "float64"}}


@pytest.fixture
def sim(backend):
    """``simulate`` bound to the backend under test."""

    def _sim(network, stimulus=None, **kwargs):
        options = {**BACKEND_OPTIONS.get(backend, {}), **kwargs}
        return simulate(network, stimulus, backend=backend, **options)

    return _sim
