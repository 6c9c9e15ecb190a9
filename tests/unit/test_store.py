"""The results store's figure files: drawn on the Agg canvas without pyplot, once each."""

import numpy as np
import pandas as pd

from neuroattn.study.plots import new_figure
from neuroattn.study.store import save_run


def _figure():
    fig, axes = new_figure(1, 2, figsize=(6.0, 3.0), squeeze=False)
    axes[0, 0].errorbar([0, 1, 2], [1.0, 3.0, 2.0], yerr=0.5, fmt="o", label="spiking")
    axes[0, 0].set_ylabel("RT ms [95% CI]")
    axes[0, 0].legend(frameon=False)
    axes[0, 1].set_yticks([0, 1])
    axes[0, 1].set_yticklabels(["accuracy_validity", "false_alarms"])
    fig.suptitle("two panels")
    fig.tight_layout()
    return fig


def _effect(name, value, lo, hi, unit, band):
    """An effect held to ``band`` (what the summary figure draws of it)."""
    from neuroattn.tasks.base import Effect

    return Effect.held_to(name, value, lo, hi, unit, name.replace("_", " "), band=band)


def _both_tiers(effects, summary):
    """Both tiers' results with the same ``effects`` and condition ``summary``."""
    from neuroattn.tasks.base import TaskResult

    return {tier: TaskResult(pd.DataFrame({"trial": range(10)}), effects, summary)
            for tier in ("spiking", "softmax")}


def test_a_tight_laid_out_figure_is_saved_with_one_draw_and_the_same_pixels(tmp_path):
    from matplotlib.image import imread

    reference = _figure()
    reference.savefig(tmp_path / "reference.png", dpi=120)  # savefig's own way: two draws
    fig = _figure()
    draws = []
    draw = fig.draw
    fig.draw = lambda renderer: (draws.append(renderer), draw(renderer))[1]
    table = pd.DataFrame({"trial": [0, 1]})
    path = save_run(tmp_path / "run", {"seed": 0}, {"task": "t"}, table, {"figure": fig}, 0,
                    ("png",))
    assert len(draws) == 1
    saved, expected = imread(path / "figure.png"), imread(tmp_path / "reference.png")
    assert saved.shape == expected.shape and np.array_equal(saved, expected)
    assert sorted(p.name for p in path.iterdir()) == [
        "config.toml", "environment.json", "figure.png", "summary.json", "trials.csv"]


def test_the_summary_figure_has_one_legend_for_all_its_panels():
    """Tiers and the published band are named once, in a figure legend beside the title,
    not in each panel; every panel (columns and effects by unit) is still drawn."""
    from neuroattn.study.plots import summary_figure
    from neuroattn.tasks.base import Column

    task = type("T", (), {"name": "toy", "columns": (
        Column("n", "n"), Column("RT ms", "rt", ci=("rt_lo", "rt_hi"), scale=1e3),
        Column("accuracy", "acc"))})()
    summary = pd.DataFrame({"condition": ["valid", "invalid"], "n": [5, 5],
                            "rt": [0.30, 0.34], "rt_lo": [0.28, 0.31], "rt_hi": [0.32, 0.37],
                            "acc": [0.95, 0.9]})
    effects = (_effect("validity_rt", 0.04, 0.01, 0.07, "s", (0.02, 0.08)),
               _effect("accuracy_valid", 0.95, 0.9, 1.0, "1", (0.9, 1.0)))
    fig = summary_figure(task, _both_tiers(effects, summary))
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == [
        "RT ms by condition", "accuracy by condition",
        "effects (95% CI) and published bands", "effects (95% CI) and published bands"]
    assert all(ax.get_legend() is None for ax in fig.axes)
    [legend] = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == ["spiking", "softmax",
                                                          "published band"]


def test_the_summary_figure_places_its_panels_so_that_no_labels_overlap():
    """``place_panels`` (instead of tight_layout, which lays out every text twice): every
    panel's frame, tick labels, axis labels and title lie inside the figure, clear of
    every other panel's and below the figure's title and legend."""
    from matplotlib.transforms import Bbox

    from neuroattn.study.plots import summary_figure
    from neuroattn.tasks.base import Column

    task = type("T", (), {"name": "toy", "columns": (
        Column("RT ms", "rt", ci=("rt_lo", "rt_hi"), scale=1e3), Column("accuracy", "acc"),
        Column("misses", "miss"))})()
    summary = pd.DataFrame({"condition": ["valid", "neutral", "invalid"], "rt": [0.3, 0.32, 0.34],
                            "rt_lo": [0.28, 0.3, 0.31], "rt_hi": [0.32, 0.34, 0.37],
                            "acc": [0.95, 0.93, 0.9], "miss": [-0.04, 0.0, 0.04]})
    effects = (_effect("validity_rt", 0.04, 0.01, 0.07, "s", (0.02, 0.08)),
               _effect("a_rather_long_effect_name", 0.95, 0.9, 1.0, "1", (0.9, 1.0)),
               _effect("false_alarms", 0.01, 0.0, 0.02, "1", (0.0, 0.05)))
    fig = summary_figure(task, _both_tiers(effects, summary))
    assert fig.get_layout_engine() is None  # nothing left to lay out: saved with one draw
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(panels) == 5
    boxes = [ax.get_tightbbox(renderer) for ax in panels]
    page = Bbox.from_bounds(0, 0, *fig.canvas.get_width_height())
    heading = min(t.get_window_extent(renderer).y0 for t in [fig._suptitle, *fig.legends])
    for i, box in enumerate(boxes):
        assert page.containsx(box.x0) and page.containsx(box.x1), i
        assert box.y0 >= 0 and box.y1 <= heading, i
        for other in boxes[i + 1:]:
            assert not box.overlaps(other)


def test_columns_that_share_a_panel_are_drawn_in_one_with_a_marker_each():
    """``Column.panel``: Posner's accuracy, anticipations and misses are proportions of
    trials, drawn in one panel (four panels, two rows of two, instead of six); each
    column has its marker and the panel names them, and the labels still clear each
    other and the title, which now stands at the left of the figure legend."""
    from matplotlib.transforms import Bbox

    from neuroattn.study.plots import summary_figure
    from neuroattn.tasks.base import Column

    share = "proportion of trials"
    task = type("T", (), {"name": "toy", "columns": (
        Column("n", "n"), Column("RT ms", "rt", ci=("rt_lo", "rt_hi"), scale=1e3),
        Column("accuracy", "acc", panel=share), Column("misses", "miss", panel=share),
        Column("anticipations", "ant", panel=share))})()
    summary = pd.DataFrame({"condition": ["valid", "invalid"], "n": [5, 5],
                            "rt": [0.30, 0.34], "rt_lo": [0.28, 0.31], "rt_hi": [0.32, 0.37],
                            "acc": [0.95, 0.9], "miss": [0.05, 0.1], "ant": [0.0, 0.0]})
    effects = (_effect("validity_rt", 0.04, 0.01, 0.07, "s", (0.02, 0.08)),
               _effect("accuracy_valid", 0.95, 0.9, 1.0, "1", (0.9, 1.0)))
    fig = summary_figure(task, _both_tiers(effects, summary))
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert len(fig.axes) == len(panels) == 4
    assert [ax.get_title() for ax in panels][:2] == ["RT ms by condition",
                                                     f"{share} by condition"]
    shared = panels[1]
    assert [t.get_text() for t in shared.get_legend().get_texts()] == [
        "accuracy", "misses", "anticipations"]
    markers = {line.get_marker() for line in shared.get_lines() if line.get_marker()
               not in (None, "None", "")}
    assert markers == {"o", "s", "^"}
    points = np.concatenate([line.get_ydata() for line in shared.get_lines()
                             if len(line.get_xdata()) == 2])
    assert sorted(points) == sorted([0.95, 0.9, 0.05, 0.1, 0.0, 0.0] * 2)
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    boxes = [ax.get_tightbbox(renderer) for ax in panels]
    page = Bbox.from_bounds(0, 0, *fig.canvas.get_width_height())
    title, [legend] = fig._suptitle.get_window_extent(renderer), fig.legends
    assert not title.overlaps(legend.get_window_extent(renderer))
    heading = min(title.y0, legend.get_window_extent(renderer).y0)
    for i, box in enumerate(boxes):
        assert page.containsx(box.x0) and page.containsx(box.x1), i
        assert box.y0 >= 0 and box.y1 <= heading, i
        for other in boxes[i + 1:]:
            assert not box.overlaps(other)
