"""Text tables of runs, comparisons and series, and the bridge figure.

Every table is built from a summary dict (as stored in summary.json) and the task's
own report columns (``Task.columns``), so no function here asks which task it shows.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["format_run", "format_compare", "format_series", "bridge_figure"]


def _num(x, scale=1.0, fmt="{:.1f}") -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) \
        else fmt.format(x * scale)


def _ci(m, lo, hi, scale=1.0, fmt="{:.1f}") -> str:
    return f"{_num(m, scale, fmt)} [{_num(lo, scale, fmt)}, {_num(hi, scale, fmt)}]"


def _columns(task: str):
    from neuroattn.tasks import get_task
    return get_task(task).columns


def _cell(col, row: dict) -> str:
    if col.ci is not None:
        return _ci(row.get(col.key), row.get(col.ci[0]), row.get(col.ci[1]), col.scale, col.fmt)
    return _num(row.get(col.key), col.scale, col.fmt)


def _header(col) -> str:
    return f"{col.header} [95% CI]" if col.ci is not None and "CI" not in col.header \
        else col.header


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _effect_cell(e: dict) -> str:
    scale, unit = (1e3, " ms") if e["unit"] == "s" else (1.0, "")
    fmt = "{:.1f}" if e["unit"] == "s" else "{:.3f}"
    verdict = {True: "PASS", False: "FAIL", None: ""}[e["passed"]]
    return f"{_ci(e['estimate'], e['ci_low'], e['ci_high'], scale, fmt)}{unit} {verdict}".rstrip()


def _condition_table(task: str, tiers: dict) -> str:
    cols = _columns(task)
    many = len(tiers) > 1
    shown_n = any(c.key == "n" for c in cols)
    head = ["condition"] + ([] if shown_n else ["n"]) + [
        f"{t} {_header(c)}" if many else _header(c) for t in tiers for c in cols]
    rows = [head]
    first = next(iter(tiers.values()))["conditions"]
    for i, r in enumerate(first):
        cells = [str(r["condition"])] + ([] if shown_n else [str(r.get("n", ""))])
        for t in tiers.values():
            cells += [_cell(c, t["conditions"][i]) for c in cols]
        rows.append(cells)
    return _table(rows)


def _effect_table(tiers: dict) -> str:
    names = list(tiers)
    rows = [["effect"] + names + ["published target"]]
    effects = [t["effects"] for t in tiers.values()]
    for i, e in enumerate(effects[0]):
        rows.append([e["name"]] + [_effect_cell(es[i]) for es in effects] + [e["target"]])
    return _table(rows)


def format_run(summary: dict) -> str:
    """A run's per-condition table and effects."""
    head = (f"{summary['task']} | {summary['mechanism']} | tier {summary['tier']} | backend "
            f"{summary['backend']} | {summary['trials']} trials | seed {summary['seed']}")
    tiers = {summary["tier"]: summary}
    return "\n".join([head, "", _condition_table(summary["task"], tiers), "",
                      _effect_table(tiers)])


def _bridge_lines(b: dict) -> list[str]:
    fitted = ", ".join(f"{k} = {_num(v, 1, '{:.4g}')}" for k, v in b["fitted"].items()
                       if isinstance(v, (int, float)) and not isinstance(v, bool))
    windows = [f"{w * 1e3:g} ms" for w in b["windows"]]

    def js(values):
        return ", ".join(f"{w} {v:.4f}" for w, v in zip(windows, values))

    cal = b.get("calibration", {})
    lines = [
        "bridge:",
        f"  softmax parameters ({b['method']}, on the task's inputs "
        f"{_num(cal.get('task_input_min'), 1, '{:.2f}')}..{_num(cal.get('task_input_max'), 1, '{:.2f}')}): "
        f"{fitted}",
        f"  JS divergence, spike shares vs softmax weights, by counting window (nats; "
        f"inputs weighted by their spike counts):",
        f"    task inputs ({b['n_task_inputs']} held out): {js(b['js_task'])}",
        f"    random inputs over the same range ({b['n_random_inputs']}): {js(b['js_random'])}",
    ]
    for kind, label in (("task", "task inputs"), ("random", "random inputs")):
        plain = b.get(f"js_{kind}_plain") or ()
        if plain:
            lines.append(f"    {label}, plain mean (inputs alike, few-spike sampling "
                         f"included): {js(plain)}")
    lines.append(f"    scale: uniform weights score {b['js_uniform']:.4f}")
    for kind in ("task", "random"):
        silent = b.get(f"silent_{kind}") or ()
        if any(silent):
            lines.append(f"    {kind} inputs on which the circuit fired no spike (left out): "
                         + ", ".join(f"{w} {n}" for w, n in zip(windows, silent)))
    if b.get("kappa") is not None and math.isfinite(b.get("kappa") or math.nan):
        lines.append(f"  choices: agree on {b['choice_agreement'] * 100:.1f}% of trials; chance "
                     f"(independent models at these base rates) {b['chance_agreement'] * 100:.1f}%;"
                     f" Cohen's kappa {b['kappa']:.2f}")
        lines.append(f"  RTs: correlation within condition "
                     f"{_num(b['rt_correlation_within'], 1, '{:.2f}')} (shuffled within condition "
                     f"{_num(b['rt_correlation_shuffled'], 1, '{:.2f}')})")
    else:
        lines.append(f"  condition means: correlation "
                     f"{_num(b.get('response_correlation'), 1, '{:.3f}')}, mean |softmax - "
                     f"spiking| {_num(b.get('response_mean_abs_difference'), 1, '{:.2f}')} Hz")
    return lines


def format_compare(summary: dict) -> str:
    """Both tiers side by side, the effects, and the bridge figures."""
    head = (f"{summary['task']} | {summary['mechanism']} | spiking (backend "
            f"{summary['backend']}) vs softmax (attention backend "
            f"{summary.get('attention_backend', 'numba')}) | {summary['trials']} trials | "
            f"seed {summary['seed']}")
    tiers = summary["tiers"]
    return "\n".join([head, "", _condition_table(summary["task"], tiers), "",
                      _effect_table(tiers), ""] + _bridge_lines(summary["bridge"]))


def format_series(series: dict) -> str:
    """Each effect per value of the varied parameter, per tier, with Spearman's rho."""
    name, values = series["name"], series["values"]
    out = []
    for tier, effects in series["series"].items():
        rows = [["effect"] + [f"{name}={v:g}" if isinstance(v, float) else f"{name}={v}"
                              for v in values] + ["Spearman rho", "target"]]
        for effect, row in effects.items():
            scale = 1e3
            first = next(iter(series["outcomes"])).summary
            tiers = first["tiers"] if "tiers" in first else {first["tier"]: first}
            unit = next((e["unit"] for e in tiers[tier]["effects"] if e["name"] == effect), "1")
            scale, fmt = (1e3, "{:.1f}") if unit == "s" else (1.0, "{:.3f}")
            verdict = {True: " PASS", False: " FAIL"}.get(row.get("passed"), "")
            rows.append([effect] + [_num(x, scale, fmt) for x in row["estimates"]]
                        + [f"{_num(row['rho'], 1, '{:.2f}')}{verdict}", row.get("target", "")])
        out.append(f"tier {tier} (effects in ms where timed):\n" + _table(rows))
    return "\n\n".join(out)


def bridge_figure(bridge: dict):
    """JS divergence between spike shares and softmax weights against the counting window."""
    import matplotlib.ticker

    from neuroattn.study.plots import TIER_COLORS, plt

    fig, ax = plt.subplots(figsize=(4.8, 3.6))
    w = np.asarray(bridge["windows"]) * 1e3
    ax.loglog(w, bridge["js_task"], "o-", color=TIER_COLORS["softmax"],
              label=f"task inputs ({bridge['n_task_inputs']})")
    ax.loglog(w, bridge["js_random"], "s--", color="0.4",
              label=f"random inputs ({bridge['n_random_inputs']})")
    ax.axhline(bridge["js_uniform"], color="0.7", ls=":", label="uniform weights")
    ax.set_xticks(w)
    ax.set_xticklabels([f"{x:g}" for x in w])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("counting window (ms)")
    ax.set_ylabel("JS divergence (nats)")
    ax.set_title(f"spike shares vs softmax weights ({bridge['method']})", fontsize=10)
    ax.legend(frameon=False, fontsize=8)
    fig.tight_layout()
    return fig
