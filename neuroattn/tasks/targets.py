"""The published bands every task is held to, with their sources, in one place.

These follow the project's table of targets (TARGETS.md); a task's effects look their
band up here, so summary.json, the reports and the docs quote the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Target", "TARGETS", "target"]


@dataclass(frozen=True)
class Target:
    """A published band.

    Parameters
    ----------
    band : (float, float) or None
        Lowest and highest value that agrees with the data, in ``unit`` (None: only the
        direction is published, held through ``null``).
    unit : str
        ``'s'``, ``'1'`` (a ratio, weight or probability), ...
    null : float or None
        The value of "no effect", which the 95 % CI must exclude (None: no such test).
    text : str
        The result in words.
    source : str
        Where the band comes from.
    """

    band: tuple
    unit: str
    null: float | None
    text: str
    source: str

    def describe(self) -> str:
        """``text (source)`` for tables and figures."""
        return f"{self.text} ({self.source})"


_POSNER = "Posner 1980; Posner, Snyder & Davidson 1980"
_RCD = "Reynolds, Chelazzi & Desimone 1999"
_MM = "McAdams & Maunsell 1999"
_EB = "Ernst & Banks 2002"

TARGETS = {
    "posner.rt_neutral": Target((0.25, 0.35), "s", None, "mean correct RT, neutral cue "
                                "250-350 ms", _POSNER),
    "posner.benefit": Target((0.02, 0.05), "s", 0.0, "benefit, neutral - valid RT, 20-50 ms",
                             _POSNER),
    "posner.cost": Target((0.02, 0.08), "s", 0.0, "cost, invalid - neutral RT, 20-80 ms",
                          _POSNER),
    "posner.validity": Target(None, "s", 0.0, "validity effect, invalid - valid RT > 0",
                              _POSNER),
    "posner.accuracy": Target((0.9, 1.0), "1", None, "accuracy >= 0.9 in every condition",
                              "simple detection"),
    "posner.false_alarms": Target((0.0, 0.05), "1", None, "false alarms on catch trials "
                                  "<= 5 %", "standard catch-trial criterion"),
    "posner.validity_rho": Target((0.9, 1.0), "1", None, "validity effect grows with cue "
                                  "validity: Spearman rho >= 0.9 over >= 5 validities",
                                  "Posner 1980"),
    "pair.weight_away": Target((0.4, 0.6), "1", None, "pair between the singles; the unit's "
                               "weight of pref (pair - poor)/(pref - poor) 0.5 +/- 0.1, "
                               "attention away", _RCD),
    "pair.weight_att_pref": Target((0.5, 1.0), "1", 0.5, "attending pref pulls the pair "
                                   "toward pref: weight g/(1+g) in (0.5, 1]", _RCD),
    "pair.weight_att_poor": Target((0.0, 0.5), "1", 0.5, "attending poor pulls the pair "
                                   "toward poor: weight 1/(1+g) in [0, 0.5)", _RCD),
    "pair.gain_agreement": Target((-float("inf"), float("inf")), "1", None, "one gain g: "
                                  "the 95 % CI of ln(g_pref/g_poor), from the two attended "
                                  "weights, includes 0", _RCD),
    "gain.ratio": Target((1.1, 1.5), "1", 1.0, "driven response to the preferred orientation "
                         "(amplitude of the fitted Gaussian tuning curve), attended / "
                         "unattended +10-50 % (median +26 %)", _MM),
    "gain.width_change": Target((-0.1, 0.1), "1", None, "tuning width (sigma of the fitted "
                                "Gaussian), attended / unattended - 1, within +/-10 %", _MM),
    "cue_combination.weight": Target(None, "1", None, "cues weighted by reliability: the "
                                     "weight of cue 0 (combined - cue1)/(cue0 - cue1) equals "
                                     "pi0/(pi0 + pi1) within its 95 % CI and, for unequal "
                                     "reliabilities, differs from 0.5", _EB),
}


def target(key: str) -> Target:
    """The target called ``key`` (``'<task>.<measure>'``)."""
    return TARGETS[key]
