"""Figures every task can use: its report columns by condition, and its effects against
their published bands."""

from __future__ import annotations

import numpy as np

__all__ = ["TIER_COLORS", "summary_figure", "effects_axis", "new_figure", "place_panels"]

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


#: markers of the columns that share a panel, in their order
_MARKERS = ("o", "s", "^", "D", "v")


def _columns_axis(ax, results: dict, group: list, n: int) -> None:
    """Mean (and 95 % CI where there is one) of each column in ``group`` by condition,
    for each of the ``n`` tiers; several columns are told apart by marker (a legend of
    their own names them)."""
    from matplotlib.lines import Line2D

    width = 0.6 / max(1, len(group) * n)  # the points of one condition, side by side
    for k, col in enumerate(group):
        marker = _MARKERS[k % len(_MARKERS)] if len(group) > 1 else "o"
        for i, (tier, res) in enumerate(results.items()):
            s = res.summary
            slot = k * n + i - (len(group) * n - 1) / 2
            x = np.arange(len(s)) + slot * (width if len(group) > 1 else 0.25)
            m = s[col.key].to_numpy(dtype=float) * col.scale
            if col.ci is not None:
                lo = s[col.ci[0]].to_numpy(dtype=float) * col.scale
                hi = s[col.ci[1]].to_numpy(dtype=float) * col.scale
                ax.errorbar(x, m, yerr=[m - lo, hi - m], fmt=marker,
                            color=TIER_COLORS.get(tier), capsize=3, label=tier)
            else:
                ax.plot(x, m, marker, color=TIER_COLORS.get(tier), label=tier)
    if len(group) > 1:
        handles = [Line2D([], [], marker=_MARKERS[k % len(_MARKERS)], ls="", color="0.35")
                   for k in range(len(group))]
        # a fixed place: loc="best" tries every position against every point
        ax.legend(handles, [c.header for c in group], frameon=False, fontsize=7,
                  loc="center left")


def summary_figure(task, results: dict):
    """The task's report columns by condition for each tier, and its effects.

    ``results``: tier -> TaskResult. One panel per column of ``task.columns`` (mean and
    95 % CI where the column has one; trial counts are left out; columns that name
    the same ``panel`` share one, told apart by marker) and one panel of
    effects against their bands per unit, three panels to a row (two of two for four). One legend, at the
    top right beside the title, names the tiers and the published band for every panel
    (a legend per panel repeated it six times for a Posner run, and legends are a good
    part of drawing the figure: see docs/engines.md, "Start-up").
    """
    groups: dict = {}  # panel -> its columns (Column.panel; a column alone by default)
    for c in task.columns:
        if c.key != "n":
            groups.setdefault(c.panel or ("", c.key), []).append(c)
    panels = list(groups.items())
    first = next(iter(results.values()))
    units = list(dict.fromkeys(e.unit for e in first.effects))
    n_panels = len(panels) + len(units)
    n_cols = 2 if n_panels == 4 else min(3, n_panels)  # four panels: two rows of two
    n_rows = -(-n_panels // n_cols)
    fig, axes = new_figure(n_rows, n_cols, figsize=(4.4 * n_cols, 3.6 * n_rows), squeeze=False)
    axes = axes.ravel()
    n = len(results)
    labels = [str(c) for c in first.summary["condition"]]
    for ax, (name, group) in zip(axes, panels):
        _columns_axis(ax, results, group, n)
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=20, fontsize=8)
        header = name if isinstance(name, str) else group[0].header
        ax.set_ylabel(header)
        ax.set_title(f"{header} by condition", fontsize=10)
    for ax, unit in zip(axes[len(panels):], units):
        effects_axis(ax, results, unit, legend=False)
    for ax in axes[n_panels:]:
        ax.set_visible(False)
    tiers = " and ".join(results)
    # the title at the left, the legend at the right: side by side on a narrow figure
    fig.suptitle(f"{task.name}: {tiers} tier{'s' if n > 1 else ''}, "
                 f"{len(first.table)} trials", fontsize=11, x=0.02, ha="left")
    handles = {}
    for ax in axes[:n_panels]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(label, handle)
    if handles:
        fig.legend(list(handles.values()), list(handles), loc="upper right", frameon=False,
                   fontsize=8, ncols=len(handles))
    place_panels(fig, axes[:n_panels], n_rows, n_cols, top_in=0.45)
    return fig


#: inches kept clear around each panel's decorations (tick labels, axis labels, title)
_PAD_IN = 0.1


def _text_in(renderer, text: str, size, rotation: float = 0.0) -> tuple:
    """(width, height) in inches of ``text`` at font ``size`` rotated by ``rotation``
    degrees, as the Agg renderer measures it."""
    from matplotlib.font_manager import FontProperties

    if not text:
        return 0.0, 0.0
    w, h, _ = renderer.get_text_width_height_descent(text, FontProperties(size=size),
                                                     ismath=False)
    a = np.deg2rad(rotation)
    w, h = abs(w * np.cos(a)) + abs(h * np.sin(a)), abs(w * np.sin(a)) + abs(h * np.cos(a))
    return w / renderer.dpi, h / renderer.dpi


def _tick_texts(axis) -> list:
    """The labels ``axis`` will draw: its formatter's text for the ticks in view."""
    lo, hi = sorted(axis.get_view_interval())
    eps = 1e-9 * (hi - lo)
    locs = [x for x in axis.get_major_locator()() if lo - eps <= x <= hi + eps]
    return [t for t in axis.get_major_formatter().format_ticks(locs) if t]


def _decorations(ax, renderer) -> tuple:
    """(left, bottom, top) inches that ``ax``'s tick labels, axis labels and title take
    outside its frame."""
    import matplotlib as mpl
    from matplotlib.ticker import FixedFormatter

    rc = mpl.rcParams
    out = []
    for axis, tick, side in ((ax.yaxis, "ytick", 0), (ax.xaxis, "xtick", 1)):
        if isinstance(axis.get_major_formatter(), FixedFormatter):
            # set_*ticklabels: texts of their own size and rotation
            sizes = [_text_in(renderer, t.get_text(), t.get_fontsize(), t.get_rotation())
                     for t in axis.get_majorticklabels()]
        else:
            sizes = [_text_in(renderer, t, rc[f"{tick}.labelsize"])
                     for t in _tick_texts(axis)]
        extent = max((sz[side] for sz in sizes), default=0.0)
        extent += (rc[f"{tick}.major.size"] + rc[f"{tick}.major.pad"]) / 72
        label = axis.get_label()
        if label.get_text():
            extent += _text_in(renderer, label.get_text(), label.get_fontsize())[1]
            extent += axis.labelpad / 72
        out.append(extent)
    title = ax.title
    top = (_text_in(renderer, title.get_text(), title.get_fontsize())[1]
           + rc["axes.titlepad"] / 72) if title.get_text() else 0.0
    return out[0], out[1], top


def place_panels(fig, axes, n_rows: int, n_cols: int, top_in: float = 0.0) -> None:
    """Place a grid of panels (row by row) so that their labels clear each other.

    What ``Figure.tight_layout`` does for such a grid, from the sizes of the texts each
    panel will draw (tick labels from each axis' locator and formatter, axis labels,
    titles), measured once each by the Agg renderer, instead of laying out every tick
    and text of every panel before the figure is drawn (which tight_layout does, and
    which then has to be done again to draw it: about 0.1-0.2 CPU seconds for a
    six-panel figure, see docs/engines.md, "Start-up"). ``top_in``: inches kept free
    above the panels (the figure's title and legend).
    """
    renderer = fig.canvas.get_renderer()
    width, height = fig.get_size_inches()
    deco = [_decorations(ax, renderer) for ax in axes]
    col = [i % n_cols for i in range(len(deco))]
    row = [i // n_cols for i in range(len(deco))]
    left = max([d[0] for d, c in zip(deco, col) if c == 0], default=0.0) + _PAD_IN
    gap_w = max([d[0] for d, c in zip(deco, col) if c > 0], default=0.0) + 2 * _PAD_IN
    last = max(row, default=0)
    bottom = max([d[1] for d, r in zip(deco, row) if r == last], default=0.0) + _PAD_IN
    top = top_in + max([d[2] for d, r in zip(deco, row) if r == 0], default=0.0) + _PAD_IN
    gap_h = (max([d[1] for d, r in zip(deco, row) if r < last], default=0.0)
             + max([d[2] for d, r in zip(deco, row) if r > 0], default=0.0) + 2 * _PAD_IN)
    right = 2 * _PAD_IN
    panel_w = (width - left - right - (n_cols - 1) * gap_w) / n_cols
    panel_h = (height - bottom - top - (n_rows - 1) * gap_h) / n_rows
    if panel_w <= 0 or panel_h <= 0:  # labels larger than the figure: let matplotlib try
        fig.tight_layout()
        return
    fig.subplots_adjust(left=left / width, right=1 - right / width, bottom=bottom / height,
                        top=1 - top / height, wspace=gap_w / panel_w, hspace=gap_h / panel_h)
