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
_RH_A = "Reynolds & Heeger 2009, Fig. 2A"
_RH_B = "Reynolds & Heeger 2009, Fig. 2B"
_INF = float("inf")
# the model as published is the softmax tier and is held to its own numbers; the spiking
# circuit is held to the switch between contrast and response gain
_CG_RMAX = ("small stimulus, large attention field (contrast gain): Rmax attended / away; "
            "softmax tier (the model as published) 1.00 +/- 0.02, spiking tier 0.9-1.15")
_CG_C50 = ("small stimulus, large attention field (contrast gain): c50 away / attended; "
           "softmax tier x1.98 +/- 2 %, spiking tier > 1.3")
_RG_RMAX = ("large stimulus, small attention field (response gain): Rmax attended / away; "
            "softmax tier x1.42 +/- 0.03, spiking tier > 1.2")
_RSA = "Raymond, Shapiro & Arnell 1992"
_DBD = "Del Cul, Baillet & Dehaene 2007"
_RS = "Roitman & Shadlen 2002"
_WPH = "Wolfe, Palmer & Horowitz 2010; Treisman & Gelade 1980"
_LV = "Luck & Vogel 1997; Cowan 2001"

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
    "posner.accuracy_validity": Target((0.0, 1.0), "1", 0.0, "informative cue, brief "
                                       "(data-limited) target: valid - invalid accuracy > 0",
                                       "Prinzmetal, McCool & Park 2005"),
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
                                     "pi0/(pi0 + pi1) within its CI (simultaneous 95 % over "
                                     "the ratios) and, for unequal "
                                     "reliabilities, differs from 0.5", _EB),
    # visual search (Wolfe, Palmer & Horowitz 2010 raw data; Treisman & Gelade 1980)
    "search.slope_feature": Target((-0.005, 0.005), "s", None, "feature search, target "
                                   "present: |RT slope| < 5 ms/item", _WPH),
    "search.slope_conjunction": Target((0.005, 0.030), "s", None, "conjunction search, "
                                       "target present: RT slope 5-30 ms/item", _WPH),
    "search.slope_configuration": Target((0.025, 0.060), "s", None, "spatial configuration "
                                         "(2 among 5s), target present: RT slope 25-60 "
                                         "ms/item", _WPH),
    "search.slope_ratio": Target((1.5, 3.0), "1", None, "inefficient search: absent:present "
                                 "RT slope ratio 1.5-3.0", _WPH),
    "search.linearity": Target((0.9, 1.0), "1", None, "inefficient search: mean RT linear "
                               "in set size, R^2 >= 0.9", _WPH),
    "search.miss_rise": Target((0.0, 1.0), "1", 0.0, "misses rise with set size: miss rate "
                               "at the largest - at the smallest set size > 0", _WPH),
    "search.false_alarms": Target((0.0, 0.03), "1", None, "false alarms (absent trials "
                                  "answered present) <= 3 %", _WPH),
    "search.rt_feature": Target((0.3, 0.6), "s", None, "human range: feature search, "
                                "target present, mean RT about 400 ms (300-600 ms)", _WPH),
    "search.rt_configuration": Target((1.0, 2.6), "s", None, "human range: spatial "
                                      "configuration at 18 items, mean correct RT (present "
                                      "and absent) up to about 2 s (1.0-2.6 s)", _WPH),
    # random-dot motion, reaction-time version (Roitman & Shadlen 2002, monkeys)
    "decision.alpha": Target((5.0, 12.0), "%", None, "Weibull threshold alpha 5-12 % "
                             "coherence", _RS),
    "decision.beta": Target((1.0, 2.0), "1", None, "Weibull slope beta 1.0-2.0", _RS),
    "decision.rt_monotonic": Target((-_INF, 2.33), "1", None, "mean correct RT falls "
                                    "monotonically with coherence: no step up in coherence "
                                    "raises it significantly (largest rise between successive "
                                    "coherences < 2.33 standard errors, 5 % family-wise over "
                                    "the 5 steps; the fall itself: the RT ratio)", _RS),
    "decision.rt_ratio": Target((1.7, 2.2), "1", None, "mean correct RT(3.2 %) / RT(51.2 %) "
                                "1.7-2.2", _RS),
    "decision.error_slower": Target((0.0, 1.0), "s", 0.0, "errors slower than correct "
                                    "responses at low coherence (3.2-12.8 %)", _RS),
    "normalization.cg_rmax_ratio": Target((0.98, 1.02), "1", None, _CG_RMAX, _RH_A),
    "normalization.cg_rmax_ratio_spiking": Target((0.9, 1.15), "1", None, _CG_RMAX, _RH_A),
    "normalization.cg_c50_ratio": Target((1.94, 2.02), "1", 1.0, _CG_C50, _RH_A),
    "normalization.cg_c50_ratio_spiking": Target((1.3, _INF), "1", 1.0, _CG_C50, _RH_A),
    "normalization.rg_rmax_ratio": Target((1.39, 1.45), "1", 1.0, _RG_RMAX, _RH_B),
    "normalization.rg_rmax_ratio_spiking": Target((1.2, _INF), "1", 1.0, _RG_RMAX, _RH_B),
    "normalization.effective_contrast_gain": Target((1.2, 2.0), "1", 1.0, "effective contrast "
                                                    "gain of attention (c50 away / attended, "
                                                    "stimulus in the receptive field) x1.2-2.0 "
                                                    "(x1.51 reported)",
                                                    "Reynolds, Pasternak & Desimone 2000"),
    # attentional blink (Raymond, Shapiro & Arnell 1992; Sergent, Baillet & Dehaene 2005)
    "blink.depth": Target((0.2, 1.0), "1", 0.0, "T2|T1 accuracy: minimum at lags 2-4 at "
                          "least 20 points below lags 6-8", _RSA),
    "blink.lag1_sparing": Target((0.0, 1.0), "1", 0.0, "lag-1 sparing: T2|T1 accuracy at "
                                 "lag 1 above the minimum at lags 2-4", _RSA),
    "blink.recovery": Target((0.2, 1.0), "1", 0.0, "recovery by lags 5-7 (500-700 ms): "
                             "best of lags 5-7 at least 20 points above the minimum at lags "
                             "2-4", _RSA),
    "blink.control_ignored": Target((-1.0, 0.1), "1", None, "no blink when T1 is ignored: "
                                    "lags 6-8 minus the minimum at lags 2-4 below 10 points",
                                    _RSA),
    "blink.control_blank": Target((-1.0, 0.1), "1", None, "no blink when T1 is followed by "
                                  "a blank: lags 6-8 minus the minimum at lags 2-4 below 10 "
                                  "points", _RSA),
    # backward masking (Del Cul, Baillet & Dehaene 2007)
    "masking.threshold": Target((0.035, 0.055), "s", None, "visibility against target-mask "
                                "SOA is a sigmoid with its 50 % threshold at 35-55 ms (~50 ms "
                                "reported)", _DBD),
    "masking.visibility_rise": Target((0.5, 1.0), "1", 0.0, "visibility rises from the "
                                      "shortest to the longest SOA (16 to 100 ms) by more "
                                      "than half", _DBD),
    "masking.bimodality": Target((0.555, 1.0), "1", None, "late (workspace) activity near "
                                 "the threshold SOA all-or-none across trials: Sarle's "
                                 "bimodality coefficient > 5/9", _DBD),
    "blink.bimodality": Target((0.555, 1.0), "1", None, "T2 workspace activity at the "
                               "deepest lag bimodal across trials (seen / not seen): Sarle's "
                               "bimodality coefficient > 5/9",
                               "Sergent, Baillet & Dehaene 2005; Dehaene, Sergent & "
                               "Changeux 2003"),
    # inattentional blindness (Dehaene & Changeux 2005)
    "blindness.ratio": Target((0.0, 0.5), "1", 1.0, "a stimulus during an ongoing "
                              "ignition ignites less than half as often as at rest: "
                              "ignition rate during / at rest < 0.5",
                              "Dehaene & Changeux 2005; Mack & Rock 1998"),
    # working-memory capacity, single-probe change detection (Cowan's K = N (H - FA))
    "capacity.k_small": Target((0.0, 0.5), "1", None, "K equals N within 0.5 for N <= 3: "
                               "largest |K - N| over set sizes 1-3 <= 0.5", _LV),
    "capacity.k_plateau": Target((3.0, 5.0), "1", None, "K plateaus at 3-5 items for "
                                 "N >= 4: mean K over set sizes >= 4 in 3-5", _LV),
    "capacity.conjunction": Target((-0.5, 0.5), "1", None, "objects with two conjoined "
                                   "features give the same K as single-feature objects "
                                   "(+/- 0.5): K conjunction - K feature, mean over set "
                                   "sizes", "Luck & Vogel 1997"),
}


def target(key: str) -> Target:
    """The target called ``key`` (``'<task>.<measure>'``)."""
    return TARGETS[key]
