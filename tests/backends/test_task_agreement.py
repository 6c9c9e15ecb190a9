"""The foundation's tasks give the same effects on every backend as on Brian2."""

import functools
import math

import pytest

from neuroattn.mechanisms.biased_competition import LIFCircuit, SpikingAgent
from neuroattn.tasks import Pair, Posner


@functools.lru_cache(maxsize=None)
def _result(task_name: str, backend: str):
    task = Posner() if task_name == "posner" else Pair()
    n = 200 if task_name == "posner" else 100
    trials = task.make_trials(n, seed=7)
    values = getattr(task, "values", None)
    agent = SpikingAgent(LIFCircuit(k=2), backend=backend, values=values)
    return task.score(trials, agent.run(trials), seed=7)


@pytest.mark.slow
@pytest.mark.parametrize("task_name", ["posner", "pair"])
def test_task_agreement(backend, task_name):
    """Each effect agrees with Brian2's on the same trials: the 95 % CI of the difference
    (from both bootstrap CIs, as independent normal estimates) contains 0, and the verdict
    against the published target is the same."""
    ref = _result(task_name, "brian2")
    got = _result(task_name, backend)
    for e_ref, e in zip(ref.effects, got.effects):
        se = math.hypot((e_ref.ci_high - e_ref.ci_low) / 3.92, (e.ci_high - e.ci_low) / 3.92)
        assert abs(e.estimate - e_ref.estimate) <= 1.96 * se, (backend, e, e_ref)
        if e_ref.passed is not None:
            assert e.passed == e_ref.passed, (backend, e, e_ref)
