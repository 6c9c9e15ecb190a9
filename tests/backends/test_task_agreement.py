"""The foundation's tasks give the same effects on every backend as on Brian2."""

import functools
import math
from statistics import NormalDist

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
    """Each effect agrees with Brian2's on the same trials, and so does its verdict.

    The two backends draw their own noise, so their estimates differ by sampling error:
    the difference must lie within the family-wise 95 % band of that error (standard
    errors from both bootstrap CIs, Bonferroni over the task's effects).
    """
    ref = _result(task_name, "brian2")
    got = _result(task_name, backend)
    z = float(NormalDist().inv_cdf(1 - 0.05 / (2 * len(ref.effects))))
    for e_ref, e in zip(ref.effects, got.effects):
        se = math.hypot((e_ref.ci_high - e_ref.ci_low) / 3.92, (e.ci_high - e.ci_low) / 3.92)
        assert abs(e.estimate - e_ref.estimate) <= z * se, (backend, e, e_ref)
        if e_ref.passed is not None:
            assert e.passed == e_ref.passed, (backend, e, e_ref)
