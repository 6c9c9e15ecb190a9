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
