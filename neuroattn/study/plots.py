"""Figures every task can use: its report columns by condition, and its effects against
their published bands."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["TIER_COLORS", "summary_figure", "effects_axis"]

TIER_COLORS = {"spiking": "#1f77b4", "softmax": "#d62728"}


def effects_axis(ax, results: dict) -> None:
    """Each effect's estimate and 95 % CI per tier, with its published band shaded."""
    first = next(iter(results.values()))
    names = [e.name for e in first.effects]
    n = len(results)
    for i, (tier, res) in enumerate(results.items()):
        for j, e in enumerate(res.effects):
            scale = 1e3 if e.unit == "s" else 1.0
            y = j + (i - (n - 1) / 2) * 0.25
            if np.isfinite(e.estimate):
                lo, hi = e.ci_low * scale, e.ci_high * scale
                ax.errorbar(e.estimate * scale, y, xerr=[[e.estimate * scale - lo],
                                                         [hi - e.estimate * scale]],
                            fmt="o", color=TIER_COLORS.get(tier), capsize=3,
                            label=tier if j == 0 else None)
            if i == 0 and e.band is not None:
                lo, hi = (b * scale for b in e.band)
                if np.isfinite(lo) and np.isfinite(hi):
                    ax.fill_betweenx([j - 0.4, j + 0.4], lo, hi, color="0.85", zorder=0,
                                     label="published band" if j == 0 else None)
    ax.set_yticks(range(len(names)))
    ax.set_yticklabels([f"{e.name} ({'ms' if e.unit == 's' else e.unit})"
                        for e in first.effects], fontsize=8)
    ax.invert_yaxis()
    ax.set_title("effects (95% CI) and published bands", fontsize=10)
    ax.legend(frameon=False, fontsize=7, loc="best")


def summary_figure(task, results: dict):
    """The task's report columns by condition for each tier, and its effects.

    ``results``: tier -> TaskResult. One panel per column of ``task.columns`` (mean and
    95 % CI where the column has one) and one panel of effects against their bands.
    """
    cols = list(task.columns)
    fig, axes = plt.subplots(1, len(cols) + 1, figsize=(4.2 * (len(cols) + 1), 3.8))
    axes = np.atleast_1d(axes)
    n = len(results)
    labels = [str(c) for c in next(iter(results.values())).summary["condition"]]
    for ax, col in zip(axes, cols):
        for i, (tier, res) in enumerate(results.items()):
            s = res.summary
            x = np.arange(len(s)) + (i - (n - 1) / 2) * 0.25
            m = s[col.key].to_numpy(dtype=float) * col.scale
            if col.ci is not None:
                lo = s[col.ci[0]].to_numpy(dtype=float) * col.scale
                hi = s[col.ci[1]].to_numpy(dtype=float) * col.scale
                ax.errorbar(x, m, yerr=[m - lo, hi - m], fmt="o", color=TIER_COLORS.get(tier),
                            capsize=3, label=tier)
            else:
                ax.plot(x, m, "o", color=TIER_COLORS.get(tier), label=tier)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=20, fontsize=8)
        ax.set_ylabel(col.header)
        ax.set_title(f"{col.header} by condition" + (" (mean, 95% CI)" if col.ci else ""),
                     fontsize=10)
        ax.legend(frameon=False, fontsize=8)
    effects_axis(axes[-1], results)
    tiers = " vs ".join(results)
    fig.suptitle(f"{task.name}: measured on {tiers}", fontsize=11)
    fig.tight_layout()
    return fig
