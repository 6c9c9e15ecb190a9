"""The mechanism conformance suite: every test runs on every mechanism x task pair.

A test asks for the ``pair`` fixture: ``(mechanism, task_class)``. Pairs a mechanism
cannot run are listed in ``UNSUPPORTED`` with the reason -- the one place such gaps are
written down -- and must agree with the mechanism's own ``supports(spec)``.
"""

from __future__ import annotations

import pytest

from neuroattn.mechanisms import MECHANISMS
from neuroattn.tasks import TASKS

# the mechanisms' own reasons (their supports()), each written once
_R0 = (
    'items presented one after another need a mechanism with memory of the stream; '
    'biased competition compares items present together')
_R1 = (
    'the normalization model pools stimuli present together at positions in space; '
    "the task lays its items out in 'time'")
_R2 = (
    'the normalization model pools stimuli present together at positions in space; '
    "the task lays its items out in 'slots'")
_R3 = (
    "the model's responses are its position units ('items'); it has no downstream "
    "'unit' that weighs items by selectivity")
_R4 = (
    'items presented one after another need a circuit that carries its predictions '
    'from one item to the next; this one predicts items present together')
_R5 = (
    'the circuit holds items over a delay as a limited-capacity store: it runs tasks '
    "whose items are memory slots, and this task lays its items out in 'time'")
_R6 = (
    'the circuit holds items over a delay as a limited-capacity store: it runs tasks '
    "whose items are memory slots, and this task lays its items out in 'space'")
_R7 = (
    'the workspace reads out its assemblies (ignited or not); it has no downstream '
    "'unit' with selectivities")
_R8 = (
    'the model normalizes every item at once; it has no selection stage that picks one '
    'item and lets the task suppress it before the next')
_R9 = (
    'the network has two selective pools: it decides between two alternatives present '
    'together in space')
_R10 = (
    'the network has no top-down bias input; it decides between two evidence streams')

#: (mechanism, task) -> why that mechanism does not run that task.
UNSUPPORTED: dict = {
    ('biased-competition', 'blindness'): _R0,
    ('biased-competition', 'blink'): _R0,
    ('biased-competition', 'masking'): _R0,
    ('normalization', 'blindness'): _R1,
    ('normalization', 'blink'): _R1,
    ('normalization', 'capacity'): _R2,
    ('normalization', 'cue-combination'): _R3,
    ('normalization', 'gain'): _R3,
    ('normalization', 'masking'): _R1,
    ('normalization', 'pair'): _R3,
    ('normalization', 'search'): _R8,
    ('decision-attractor', 'blindness'): _R9,
    ('decision-attractor', 'blink'): _R9,
    ('decision-attractor', 'capacity'): _R9,
    ('decision-attractor', 'cue-combination'): _R10,
    ('decision-attractor', 'gain'): _R9,
    ('decision-attractor', 'masking'): _R9,
    ('decision-attractor', 'normalization'): _R9,
    ('decision-attractor', 'pair'): _R10,
    ('decision-attractor', 'posner'): _R10,
    ('decision-attractor', 'search'): _R9,
    ('precision', 'blindness'): _R4,
    ('precision', 'blink'): _R4,
    ('precision', 'masking'): _R4,
    ('working-memory', 'blindness'): _R5,
    ('working-memory', 'blink'): _R5,
    ('working-memory', 'cue-combination'): _R6,
    ('working-memory', 'decision'): _R6,
    ('working-memory', 'gain'): _R6,
    ('working-memory', 'masking'): _R5,
    ('working-memory', 'normalization'): _R6,
    ('working-memory', 'pair'): _R6,
    ('working-memory', 'posner'): _R6,
    ('working-memory', 'search'): _R6,
    ('workspace', 'cue-combination'): _R7,
    ('workspace', 'gain'): _R7,
    ('workspace', 'pair'): _R7,
}

#: (mechanism, task) -> why the calibrated softmax tier does not yet reproduce the
#: circuit on a task the mechanism runs: the bridge test is expected to fail there
#: (strictly: it reports when a fix makes it pass). Open work, listed in the docs.
BRIDGE_GAPS: dict = {
    ("normalization", "decision"):
        "two nearly equal inputs: uniform weights already score JS ~2e-4 nats, and the "
        "calibrated layer's is about half of that (ratio 0.43 / 0.44 / 0.45 / 0.54 at "
        "seeds 4-7 with the task's trial-to-trial coherence; 0.54 before it)",
    ("workspace", "normalization"):
        "the workspace ignites one assembly among 18 positions of graded contrast; its "
        "calibrated layer's shares stay far from the circuit's (500 ms JS 0.161 nats against "
        "uniform weights' 0.244; 0.110 once the layer's hold has its own temperature, just "
        "under the half that passes)",
    ("workspace", "posner"):
        "the workspace rarely crosses the Posner decision bound on both tiers, so no "
        "RTs are shared to correlate",
}


#: gaps at the edge of the check: it passes at some seeds and fails at others, so the
#: expected failure is not strict there
BRIDGE_BORDERLINE = {("normalization", "decision"), ("workspace", "normalization")}


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
