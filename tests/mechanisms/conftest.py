"""The mechanism conformance suite: every test runs on every mechanism x task pair.

A test asks for the ``pair`` fixture: ``(mechanism, task_class)``. Pairs a mechanism
cannot run are listed in ``UNSUPPORTED`` with the reason -- the one place such gaps are
written down -- and must agree with the mechanism's own ``supports(spec)``.
"""

from __future__ import annotations

import pytest

from neuroattn.mechanisms import MECHANISMS
from neuroattn.tasks import TASKS

#: (mechanism, task) -> why that mechanism does not run that task.
UNSUPPORTED: dict = {}


def _pairs():
    return [(m, t) for m in sorted(MECHANISMS) for t in sorted(TASKS)]


@pytest.fixture(params=_pairs(), ids=lambda p: f"{p[0]}-{p[1]}")
def pair(request):
    """``(mechanism instance, task class)``; skips UNSUPPORTED pairs."""
    mech_name, task_name = request.param
    if (mech_name, task_name) in UNSUPPORTED:
        pytest.skip(f"{mech_name} does not run {task_name}: "
                    f"{UNSUPPORTED[(mech_name, task_name)]}")
    return MECHANISMS[mech_name], TASKS[task_name]
