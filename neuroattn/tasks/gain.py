"""Attention scales a single stimulus's response (McAdams & Maunsell 1999).

A V4 neuron (the readout 'unit') is shown one oriented stimulus at a time in its
receptive field, at ``n_orientations`` orientations spaced evenly over 180 deg, either
attended or with attention away (on a stimulus outside the receptive field). Each
orientation is one item: item k is the stimulus at orientation ``k * 180 / K`` deg, and
the unit's selectivity for it follows a Gaussian tuning curve around the preferred
orientation (item 0)::

    values[k] = exp(-d_k**2 / (2 tuning_width**2)),  d_k = circular distance to 0 deg

Attention on the stimulus is the same centred bias as in
:class:`~neuroattn.tasks.Pair`: ``attention_bias (1 - 1/K)`` on the stimulus's item and
``-attention_bias / K`` on the others; attention away is no bias. The response is the
unit's mean rate over the last ``window`` s of the trial.

Measures, as McAdams & Maunsell (1999) did: a Gaussian with a baseline,
``R(d) = base + A exp(-d**2 / (2 sigma**2))``, is fitted (least squares, centred on the
preferred orientation) to the mean responses of each attention condition; the
attentional gain is the ratio of the fitted amplitudes ``A_att / A_away`` (the driven
response to the preferred orientation, attended over unattended) and the width change
``sigma_att / sigma_away - 1``. CIs resample trials within each condition.

Published result held to (McAdams & Maunsell 1999; bands in
``neuroattn.tasks.targets``): attention scales the driven response by +10-50 % (median
+26 %) and leaves the tuning width unchanged (change within +/-10 %).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from neuroattn.exceptions import ValidationError
from neuroattn.model.units import check_int
from neuroattn.tasks.base import (Column, Effect, Task, TaskResult, TaskSpec, Trials,
                                  check_trials_arg, role_means, task_rng)
from neuroattn.tasks.pair import attention_bias_vector, check_stimulus
from neuroattn.tasks.stats import N_BOOT, bootstrap_mean_ci
from neuroattn.tasks.targets import target

__all__ = ["Gain", "fit_tuning"]

#: Candidate tuning widths (deg) of the Gaussian fit: a fine grid, linear LS inside.
_WIDTHS = np.geomspace(5.0, 180.0, 600)


def fit_tuning(offsets, responses):
    """Least-squares Gaussian with a baseline, centred on offset 0.

    Parameters
    ----------
    offsets : array_like [K], degrees
        Distance of each orientation from the preferred one.
    responses : array_like [..., K], hertz
        Mean response per orientation (leading axes: independent curves).

    Returns
    -------
    base, amplitude, sigma : ndarray [...]
        ``R(d) = base + amplitude exp(-d**2 / (2 sigma**2))``; sigma in degrees, taken
        from a grid of 600 widths in [5, 180] deg with the linear parameters solved
        exactly for each.

    Examples
    --------
    >>> import numpy as np
    >>> d = np.array([0.0, 30, 60, 90, -60, -30])
    >>> r = 5 + 40 * np.exp(-d**2 / (2 * 25.0**2))
    >>> [round(float(x), 1) for x in fit_tuning(d, r)]
    [5.0, 40.0, 25.0]
    """
    d = np.asarray(offsets, dtype=np.float64)
    r = np.asarray(responses, dtype=np.float64)
    g = np.exp(-d[None, :] ** 2 / (2 * _WIDTHS[:, None] ** 2))  # [W, K]
    n = d.size
    sg, sgg = g.sum(1), (g * g).sum(1)  # [W]
    sr = r.sum(-1)[..., None]  # [..., 1]
    sgr = np.einsum("...k,wk->...w", r, g)
    det = n * sgg - sg ** 2
    amp = (n * sgr - sg * sr) / det
    base = (sr - amp * sg) / n
    pred = base[..., None] + amp[..., None] * g
    sse = ((r[..., None, :] - pred) ** 2).sum(-1)
    best = sse.argmin(-1)
    take = lambda a: np.take_along_axis(a, best[..., None], -1)[..., 0]  # noqa: E731
    return take(base), take(amp), _WIDTHS[best]


@dataclass(frozen=True)
class Gain(Task):
    """Orientation tuning of a V4 unit with attention on the stimulus or away.

    Parameters
    ----------
    n_orientations : int
        Orientations (items), evenly spaced over 180 deg; item 0 is preferred (6).
    tuning_width : float, degrees
        Sigma of the unit's Gaussian selectivity over orientation (30 deg).
    contrast : float
        Input of the presented stimulus, units of the agents' input (default 2.0, as in
        :class:`Pair`). Attention's gain shrinks toward saturating contrasts, as a
        contrast gain does (see docs/tasks/gain.md).
    attention_bias : float
        Size of the centred attention bias (0.5, as in :class:`Pair`).
    onset, duration, window : float, seconds
        Stimulus onset (50 ms), trial length (450 ms), response window at the end of the
        trial (250 ms). brian2 Quantities are accepted.
    noise : float
        Std of the Gaussian input noise per row on each bottom-up channel (default 0.5).
    dt : float, seconds
        Stimulus row (1 ms).

    Examples
    --------
    >>> from neuroattn.tasks import Gain
    >>> Gain().offsets().tolist()
    [0.0, 30.0, 60.0, 90.0, -60.0, -30.0]
    >>> Gain().spec().values[:3]
    (1.0, 0.6065306597126334, 0.1353352832366127)
    """

    n_orientations: int = 6
    tuning_width: float = 30.0
    contrast: float = 2.0
    attention_bias: float = 0.5
    onset: float = 0.05
    duration: float = 0.45
    window: float = 0.25
    noise: float = 0.5
    dt: float = 1e-3

    name = "gain"
    agreement = "response"
    columns = (Column("unit response (Hz)", "response", ("ci_low", "ci_high")),)

    units = dict.fromkeys(("onset", "duration", "window", "dt"), "s")

    def offsets(self) -> np.ndarray:
        """Each item's orientation minus the preferred one, in (-90, 90] deg."""
        k = np.arange(self.n_orientations) * 180.0 / self.n_orientations
        return np.where(k > 90.0, k - 180.0, k)

    def selectivities(self) -> tuple:
        """The unit's selectivity for each item (its Gaussian tuning curve)."""
        d = self.offsets()
        return tuple(float(v) for v in np.exp(-d ** 2 / (2 * self.tuning_width ** 2)))

    def spec(self) -> TaskSpec:
        """K orientations (items) in one receptive field; items and the 'unit' read out."""
        self.validate()
        return TaskSpec("space", self.n_orientations, readouts=("items", "unit"),
                        values=self.selectivities())

    def validate(self) -> None:
        """Check every parameter; raise ValidationError naming it."""
        check_int(self.n_orientations, "Gain.n_orientations", minimum=4)
        if not 0 < self.tuning_width <= 90:
            raise ValidationError(f"Gain.tuning_width: expected degrees in (0, 90] (got "
                                  f"{self.tuning_width!r})")
        check_stimulus(self, "Gain")

    def conditions(self) -> list:
        """``(orientation item, attended)`` in the order trials cycle through them."""
        return [(k, att) for k in range(self.n_orientations) for att in (False, True)]

    def make_trials(self, n: int, seed: int = 0) -> Trials:
        """Make ``n`` trials cycling through every orientation, attended and away."""
        self.validate()
        n, seed = check_trials_arg(n, seed)
        k_items = self.n_orientations
        steps = int(round(self.duration / self.dt))
        on = int(round(self.onset / self.dt))
        stim = np.zeros((n, steps, 2 * k_items), dtype=np.float32)
        conds = self.conditions()
        offsets = self.offsets()
        rows = []
        for t in range(n):
            item, att = conds[t % len(conds)]
            rng = task_rng(seed, t, 3)
            stim[t, on:, item] = self.contrast
            stim[t, :, k_items:] = attention_bias_vector(k_items, item if att else None,
                                                         self.attention_bias)
            if self.noise > 0:
                stim[t, :, :k_items] += rng.normal(0.0, self.noise, (steps, k_items))
            rows.append({"trial": t, "condition": f"{offsets[item]:+.0f}deg_"
                         f"{'att' if att else 'away'}", "item": item,
                         "offset": float(offsets[item]), "attended": att, "seed": seed})
        return Trials(stim, self.dt, self.spec(), pd.DataFrame(rows), seed, self.name)

    def bridge_inputs(self, trials: Trials) -> np.ndarray:
        """Per trial, the mean evidence and bias [trials, 2 K] from stimulus onset on."""
        return role_means(trials, self.onset)

    def readout(self, recording, trials=None) -> pd.DataFrame:
        """The unit's mean rate (Hz) over the response window, per trial."""
        sel = recording.times >= self.duration - self.window - 1e-12
        return pd.DataFrame({"response": recording.role("unit")[:, sel, 0].mean(axis=1)})

    def score(self, trials: Trials, recording, seed: int = 0) -> TaskResult:
        """Tuning curves attended and away, fitted Gaussians, gain and width change."""
        table = trials.conditions.copy()
        table["response"] = self.readout(recording)["response"].to_numpy()
        table["choice"] = -1
        table["correct"] = np.nan
        table["rt"] = np.nan
        offsets = self.offsets()
        k_items = self.n_orientations
        groups = {}
        rows = []
        for att in (False, True):
            for k in range(k_items):
                sel = (table["item"] == k) & (table["attended"] == att)
                x = table.loc[sel, "response"].to_numpy(dtype=np.float64)
                groups[(k, att)] = x[np.isfinite(x)]
                m, lo, hi = bootstrap_mean_ci(x, seed)
                rows.append({"condition": f"{offsets[k]:+.0f}deg_{'att' if att else 'away'}",
                             "offset": float(offsets[k]), "attended": att, "n": int(sel.sum()),
                             "response": m, "ci_low": lo, "ci_high": hi})
        summary = pd.DataFrame(rows)
        effects = self._effects(groups, offsets, seed)
        fit = {}
        for att in (False, True):
            means = np.array([groups[(k, att)].mean() if groups[(k, att)].size else np.nan
                              for k in range(k_items)])
            fit[att] = fit_tuning(offsets, means) if np.all(np.isfinite(means)) else (
                np.nan, np.nan, np.nan)
        summary["fit_base"] = [float(fit[a][0]) for a in summary["attended"]]
        summary["fit_amplitude"] = [float(fit[a][1]) for a in summary["attended"]]
        summary["fit_sigma"] = [float(fit[a][2]) for a in summary["attended"]]
        return TaskResult(table, tuple(effects), summary,
                          {"task": self.name, "params": self.__dict__.copy()})

    def _effects(self, groups, offsets, seed):
        k_items = self.n_orientations
        if any(groups[(k, a)].size == 0 for k in range(k_items) for a in (False, True)):
            nan = (np.nan, np.nan, np.nan)
            boots = None
        else:
            rng = np.random.default_rng([seed, 404])
            boots = {}
            for key, x in groups.items():
                idx = rng.integers(0, x.size, (N_BOOT, x.size))
                boots[key] = x[idx].mean(axis=1)
            nan = None
        stats = {}
        for att in (False, True):
            means = np.array([groups[(k, att)].mean() if groups[(k, att)].size else np.nan
                              for k in range(k_items)])
            est = fit_tuning(offsets, means) if np.all(np.isfinite(means)) else (np.nan,) * 3
            bt = (fit_tuning(offsets, np.stack([boots[(k, att)] for k in range(k_items)], -1))
                  if boots is not None else None)
            stats[att] = (est, bt, means[0])
        effects = []

        def ci(values):
            v = np.asarray(values, dtype=np.float64)
            v = v[np.isfinite(v)]
            if nan is not None or v.size == 0:
                return np.nan, np.nan
            return float(np.quantile(v, 0.025)), float(np.quantile(v, 0.975))

        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = stats[True][0][1] / stats[False][0][1]
            width = stats[True][0][2] / stats[False][0][2] - 1.0
            pref = stats[True][2] / stats[False][2]
            b_ratio = (stats[True][1][1] / stats[False][1][1]) if boots is not None else None
            b_width = (stats[True][1][2] / stats[False][1][2] - 1.0) if boots is not None else None
            b_pref = (boots[(0, True)] / boots[(0, False)]) if boots is not None else None
        tgt = target("gain.ratio")
        effects.append(Effect.held_to("amplitude_ratio", ratio, *ci(b_ratio), tgt.unit,
                                      tgt.describe(), tgt.band, tgt.null))
        tgt = target("gain.width_change")
        effects.append(Effect.held_to("width_change", width, *ci(b_width), tgt.unit,
                                      tgt.describe(), tgt.band, tgt.null))
        effects.append(Effect.held_to(
            "pref_response_ratio", pref, *ci(b_pref), "1",
            "response to the preferred orientation, attended / away, baseline included "
            "(reported; McAdams & Maunsell 1999 scale the driven response)"))
        base_d = stats[True][0][0] - stats[False][0][0]
        b_base = (stats[True][1][0] - stats[False][1][0]) if boots is not None else None
        effects.append(Effect.held_to(
            "baseline_change", base_d, *ci(b_base), "Hz",
            "baseline of the fitted tuning curve, attended - away (reported; McAdams & "
            "Maunsell 1999 found no systematic change in undriven activity)"))
        return effects

    def figure(self, results: dict):
        """Tuning curves (mean, 95 % CI, fitted Gaussians) per tier and the effects."""
        from neuroattn.study.plots import TIER_COLORS, effects_axis, plt

        fig, axes = plt.subplots(1, len(results) + 1, figsize=(4.4 * (len(results) + 1), 3.8))
        axes = np.atleast_1d(axes)
        dd = np.linspace(-90, 90, 181)
        for ax, (tier, res) in zip(axes, results.items()):
            s = res.summary.sort_values("offset")
            for att, style in ((False, "--"), (True, "-")):
                part = s[s["attended"] == att]
                x = part["offset"].to_numpy(dtype=float)
                m = part["response"].to_numpy(dtype=float)
                err = [m - part["ci_low"].to_numpy(dtype=float),
                       part["ci_high"].to_numpy(dtype=float) - m]
                label = "attended" if att else "attention away"
                ax.errorbar(x, m, yerr=err, fmt="o", color=TIER_COLORS.get(tier),
                            mfc="white" if not att else None, capsize=3, label=label)
                b, a, sg = (float(part[c].iloc[0]) for c in ("fit_base", "fit_amplitude",
                                                              "fit_sigma"))
                if np.isfinite(sg):
                    ax.plot(dd, b + a * np.exp(-dd ** 2 / (2 * sg ** 2)), style,
                            color=TIER_COLORS.get(tier), lw=1)
            ax.set_xlabel("orientation - preferred (deg)")
            ax.set_ylabel("unit response (Hz)")
            ax.set_title(f"{tier}: unit response by orientation\n(mean, 95% CI; fitted "
                         "Gaussians)", fontsize=10)
            ax.legend(frameon=False, fontsize=8)
        effects_axis(axes[-1], results)
        fig.suptitle(f"{self.name}: attention and orientation tuning, measured on "
                     f"{' vs '.join(results)}", fontsize=11)
        fig.tight_layout()
        return fig
