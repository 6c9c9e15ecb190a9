"""Text tables and figures of runs and comparisons."""

from __future__ import annotations

import math

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["format_run", "format_compare", "task_figure", "bridge_figure"]

_COLORS = {"spiking": "#1f77b4", "softmax": "#d62728"}


def _num(x, scale=1.0, fmt="{:.1f}") -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) \
        else fmt.format(x * scale)


def _ci(m, lo, hi, scale=1.0, fmt="{:.1f}") -> str:
    return f"{_num(m, scale, fmt)} [{_num(lo, scale, fmt)}, {_num(hi, scale, fmt)}]"


def _condition_cells(task: str, row: dict) -> list[str]:
    if task == "posner":
        return [_ci(row["rt_mean"], row["rt_ci_low"], row["rt_ci_high"], 1e3),
                _num(row["accuracy"], 1.0, "{:.2f}")]
    return [_ci(row["response"], row["ci_low"], row["ci_high"]),
            _num(row["share_pref"], 1.0, "{:.3f}")]


def _condition_headers(task: str) -> list[str]:
    if task == "posner":
        return ["RT ms [95% CI]", "accuracy"]
    return ["unit Hz [95% CI]", "weight pref"]


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _effect_cells(e: dict) -> str:
    scale, unit = (1e3, " ms") if e["unit"] == "s" else (1.0, "")
    fmt = "{:.1f}" if e["unit"] == "s" else "{:.3f}"
    verdict = {True: "PASS", False: "FAIL", None: ""}[e["passed"]]
    return f"{_ci(e['estimate'], e['ci_low'], e['ci_high'], scale, fmt)}{unit} {verdict}".rstrip()


def format_run(summary: dict) -> str:
    """A run's per-condition table and effects."""
    task = summary["task"]
    head = (f"{task} | {summary['mechanism']} | tier {summary['tier']} | backend "
            f"{summary['backend']} | {summary['trials']} trials | seed {summary['seed']}")
    rows = [["condition", "n"] + _condition_headers(task)]
    for r in summary["conditions"]:
        rows.append([r["condition"], str(r["n"])] + _condition_cells(task, r))
    eff = [["effect", "estimate [95% CI]", "target"]]
    for e in summary["effects"]:
        eff.append([e["name"], _effect_cells(e), e["target"]])
    return "\n".join([head, "", _table(rows), "", _table(eff)])


def format_compare(summary: dict) -> str:
    """Both tiers side by side, the effects, and the bridge figures."""
    task = summary["task"]
    tiers = summary["tiers"]
    head = (f"{task} | {summary['mechanism']} | spiking (backend {summary['backend']}) vs "
            f"softmax | {summary['trials']} trials | seed {summary['seed']}")
    hdr = _condition_headers(task)
    rows = [["condition"] + [f"spiking {h}" for h in hdr] + [f"softmax {h}" for h in hdr]]
    for rs, rm in zip(tiers["spiking"]["conditions"], tiers["softmax"]["conditions"]):
        rows.append([rs["condition"]] + _condition_cells(task, rs) + _condition_cells(task, rm))
    eff = [["effect", "spiking", "softmax", "target"]]
    for es, em in zip(tiers["spiking"]["effects"], tiers["softmax"]["effects"]):
        eff.append([es["name"], _effect_cells(es), _effect_cells(em), es["target"]])
    b = summary["bridge"]
    cal = b["calibrated"]
    js = ", ".join(f"{w * 1e3:g} ms {v:.4f}" for w, v in zip(b["windows"], b["js_calibrated"]))
    lines = [
        "bridge:",
        f"  calibrated softmax: T = {cal['temperature']:.3f}, R = {cal['rate']:.1f} Hz, "
        f"null logit = {cal['null_logit']:.2f}, tau = {cal['tau'] * 1e3:.2f} ms "
        f"(fit JS {b['calibration_js']:.5f} nats on {b['calibration_inputs']} inputs)",
        f"  JS divergence, spike shares vs calibrated softmax on {b['heldout_inputs']} held-out "
        f"inputs, by counting window: {js} nats (log-log slope {b['js_slope']:.2f})",
        f"  analytic to_softmax (no simulation): T = {b['analytic']['temperature']:.3f}, "
        f"JS {b['js_analytic'][-1]:.4f} nats at {b['windows'][-1] * 1e3:g} ms; uniform weights "
        f"score {b['js_uniform']:.4f}",
    ]
    if "choice_agreement" in b:
        lines.append(f"  trial-by-trial: choices agree on {b['choice_agreement'] * 100:.1f}% of "
                     f"trials; RT correlation {_num(b['rt_correlation'], 1, '{:.2f}')}, "
                     f"softmax - spiking RT {_num(b['rt_mean_difference'], 1e3)} ms")
    else:
        lines.append(f"  condition means: correlation {b['response_correlation']:.3f}, "
                     f"mean |softmax - spiking| {b['response_mean_abs_difference']:.2f} Hz")
    return "\n".join([head, "", _table(rows), "", _table(eff), ""] + lines)


def task_figure(task: str, results: dict):
    """Per-condition results of each tier (RT and accuracy, or unit responses and weights)."""
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    n = len(results)
    for i, (tier, res) in enumerate(results.items()):
        s = res.summary
        x = np.arange(len(s)) + (i - (n - 1) / 2) * 0.25
        c = _COLORS.get(tier, None)
        if task == "posner":
            m, lo, hi = s["rt_mean"] * 1e3, s["rt_ci_low"] * 1e3, s["rt_ci_high"] * 1e3
            axes[0].errorbar(x, m, yerr=[m - lo, hi - m], fmt="o", color=c, capsize=3,
                             label=tier)
            axes[1].bar(x, s["accuracy"], width=0.25, color=c, label=tier)
        else:
            m, lo, hi = s["response"], s["ci_low"], s["ci_high"]
            axes[0].errorbar(x, m, yerr=[m - lo, hi - m], fmt="o", color=c, capsize=3,
                             label=tier)
            axes[1].bar(x, s["share_pref"], width=0.25, color=c, label=tier)
    labels = list(next(iter(results.values())).summary["condition"])
    for ax in axes:
        ax.set_xticks(range(len(labels)))
        ax.set_xticklabels(labels, rotation=20)
        ax.legend(frameon=False, fontsize=8)
    if task == "posner":
        axes[0].set_ylabel("RT (ms), mean and 95% CI")
        axes[1].set_ylabel("accuracy")
        axes[1].set_ylim(0, 1.05)
        fig.suptitle("Posner cueing: valid < neutral < invalid")
    else:
        axes[0].set_ylabel("readout unit rate (Hz), mean and 95% CI")
        axes[1].set_ylabel("attention weight on preferred")
        axes[1].set_ylim(0, 1)
        fig.suptitle("Paired stimuli: the pair response follows attention")
    fig.tight_layout()
    return fig


def bridge_figure(bridge: dict):
    """JS divergence between spike shares and softmax weights against the counting window."""
    fig, ax = plt.subplots(figsize=(4.5, 3.6))
    w = np.asarray(bridge["windows"]) * 1e3
    ax.loglog(w, bridge["js_calibrated"], "o-", color=_COLORS["softmax"], label="calibrated")
    ax.loglog(w, bridge["js_analytic"], "s--", color="0.4", label="analytic (to_softmax)")
    ax.axhline(bridge["js_uniform"], color="0.7", ls=":", label="uniform weights")
    ax.set_xticks(w)
    ax.set_xticklabels([f"{x:g}" for x in w])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("counting window (ms)")
    ax.set_ylabel("JS divergence (nats)")
    ax.set_title("spike shares vs softmax weights")
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
