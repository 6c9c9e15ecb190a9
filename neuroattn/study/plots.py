"""Figures every task can use: its report columns by condition, and its effects against
their published bands."""

from __future__ import annotations

import numpy as np

__all__ = ["TIER_COLORS", "summary_figure", "effects_axis", "new_figure"]

TIER_COLORS = {"spiking": "#1f77b4", "softmax": "#d62728"}


def new_figure(n_rows: int = 1, n_cols: int = 1, figsize=None, **subplots):
    """``(fig, axes)`` as ``pyplot.subplots`` makes them, on the Agg canvas, without pyplot.

    pyplot is not needed to draw a figure into a file: a ``Figure`` with an Agg canvas
    saves as PNG, PDF or SVG alike, and pyplot keeps no reference to it (nothing to
    close). ``subplots``: passed to :meth:`matplotlib.figure.Figure.subplots`.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)
    return fig, fig.subplots(n_rows, n_cols, **subplots)


def __getattr__(name):
    # ``from neuroattn.study.plots import plt``: pyplot on the Agg backend, imported on
    # first use only (a run's own figure does not need it)
    if name == "plt":
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        return plt
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def effects_axis(ax, results: dict, unit: str | None = None, legend: bool = True) -> None:
    """Each effect's estimate and 95 % CI per tier, with its published band shaded.

    With ``unit``, only the effects in that unit (seconds are shown in ms). ``legend``:
    give the axis its own legend (``summary_figure`` draws one for the whole figure).
    """
    first = next(iter(results.values()))
    keep = [i for i, e in enumerate(first.effects) if unit is None or e.unit == unit]
    n = len(results)
    for i, (tier, res) in enumerate(results.items()):
        for row, j in enumerate(keep):
            e = res.effects[j]
            scale = 1e3 if e.unit == "s" else 1.0
            y = row + (i - (n - 1) / 2) * 0.25
            if np.isfinite(e.estimate):
                lo, hi = e.ci_low * scale, e.ci_high * scale
                ax.errorbar(e.estimate * scale, y, xerr=[[e.estimate * scale - lo],
                                                         [hi - e.estimate * scale]],
                            fmt="o", color=TIER_COLORS.get(tier), capsize=3,
                            label=tier if row == 0 else None)
            if i == 0 and e.band is not None:
                lo, hi = (b * scale for b in e.band)
                if np.isfinite(lo) and np.isfinite(hi):
                    ax.fill_betweenx([row - 0.4, row + 0.4], lo, hi, color="0.85", zorder=0,
                                     label="published band" if row == 0 else None)
    ax.set_yticks(range(len(keep)))
    ax.set_yticklabels([first.effects[j].name for j in keep], fontsize=8)
    ax.set_ylim(len(keep) - 0.5, -0.5)
    label = {"s": "ms", "1": "ratio / probability"}.get(unit, unit or "")
    ax.set_xlabel(label)
    ax.set_title("effects (95% CI) and published bands", fontsize=10)
    if legend:
        ax.legend(frameon=False, fontsize=7, loc="best")


def summary_figure(task, results: dict):
    """The task's report columns by condition for each tier, and its effects.

    ``results``: tier -> TaskResult. One panel per column of ``task.columns`` (mean and
    95 % CI where the column has one; trial counts are left out) and one panel of
    effects against their bands per unit, three panels to a row. One legend, at the
    top right beside the title, names the tiers and the published band for every panel
    (a legend per panel repeated it six times for a Posner run, and legends are a good
    part of drawing the figure: see docs/engines.md, "Start-up").
    """
    cols = [c for c in task.columns if c.key != "n"]
    first = next(iter(results.values()))
    units = list(dict.fromkeys(e.unit for e in first.effects))
    n_panels = len(cols) + len(units)
    n_cols = min(3, n_panels)
    n_rows = -(-n_panels // n_cols)
    fig, axes = new_figure(n_rows, n_cols, figsize=(4.4 * n_cols, 3.6 * n_rows), squeeze=False)
    axes = axes.ravel()
    n = len(results)
    labels = [str(c) for c in first.summary["condition"]]
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
        ax.set_title(f"{col.header} by condition", fontsize=10)
    for ax, unit in zip(axes[len(cols):], units):
        effects_axis(ax, results, unit, legend=False)
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    tiers = " and ".join(results)
    fig.suptitle(f"{task.name}: {tiers} tier{'s' if n > 1 else ''}, "
                 f"{len(first.table)} trials", fontsize=11)
    handles = {}
    for ax in axes[:n_panels]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="upper right", frameon=False,
                   fontsize=8, ncols=len(handles))
    fig.tight_layout()
    return fig
