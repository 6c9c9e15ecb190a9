"""The results store: results/<experiment>/<run-id>/, written atomically.

A run directory holds trials.csv, summary.json, config.toml (fully resolved),
environment.json (versions, seed, git commit) and figures (PNG; PDF or SVG on request). Everything is
written into a hidden temporary directory beside it, which is renamed into place only
when complete, so an interrupted run leaves no half-written result. The run-id is a
hash of the resolved config: the same config maps to the same directory, and a rerun is
answered from the store unless forced.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from neuroattn.exceptions import ValidationError

__all__ = ["config_id", "run_path", "is_stored", "save_run", "load_summary", "to_toml", "toml_value",
           "environment", "package_versions", "check_writable", "FIGURE_FORMATS"]

#: figure file formats a run can be saved in
FIGURE_FORMATS = ("png", "pdf", "svg")
#: zlib level of figure.png: the same pixels as the default (6) in 0.05 instead of 0.07
#: CPU s for a six-panel figure, in a file about 9 % larger
_PNG = {"pil_kwargs": {"compress_level": 3}}


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    return value


def config_id(config: dict) -> str:
    """12 hex digits identifying a resolved config (sha256 of its canonical JSON)."""
    text = json.dumps(_plain(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def run_path(out: str | os.PathLike, experiment: str, config: dict) -> Path:
    """``out/<experiment>/<run-id>``."""
    return Path(out) / experiment / config_id(config)


def is_stored(path: Path, formats=()) -> bool:
    """True when a complete run lies at ``path``, with a figure file of each of
    ``formats`` (a run stored without its figure is not an answer to one that asks
    for it: ``neuroattn run`` draws figures on request)."""
    path = Path(path)
    return ((path / "summary.json").is_file()
            and all(any(path.glob(f"*.{fmt}")) for fmt in formats))


def check_writable(out: str | os.PathLike) -> Path:
    """Create ``out`` if needed and check a file can be written there.

    Raises
    ------
    ValidationError
        Naming --out, when the directory cannot be created or written.
    """
    p = Path(out)
    try:
        p.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=p, prefix=".probe-"):
            pass
    except OSError as exc:
        raise ValidationError(f"--out: cannot write results to {str(p)!r} "
                              f"({exc.strerror or exc}); pass a writable directory") from None
    return p


def toml_value(v) -> str:
    """``v`` written as a TOML literal (None as ``{ none = true }``)."""
    return _toml_value(v)


def _toml_value(v) -> str:
    if v is None:
        return "{ none = true }"  # TOML has no null; study.config reads this back as None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        if math.isnan(v):
            return "nan"
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    # JSON escapes are TOML escapes; TOML also forbids a raw DEL (U+007F)
    return json.dumps(str(v), ensure_ascii=False).replace("\x7f", "\\u007f")


def to_toml(config: dict) -> str:
    """Serialise a nested dict of scalars and lists as TOML (tables for nested dicts)."""
    lines: list[str] = []

    def emit(table: dict, prefix: str):
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
        tables = {k: v for k, v in table.items() if isinstance(v, dict)}
        if prefix and (scalars or not tables):
            lines.append(f"[{prefix}]")
        for k, v in scalars.items():
            lines.append(f"{k} = {_toml_value(_plain(v) if not isinstance(v, float) else v)}")
        if scalars or (prefix and not tables):
            lines.append("")
        for k, v in tables.items():
            emit(v, f"{prefix}.{k}" if prefix else k)

    emit(config, "")
    return "\n".join(lines).rstrip() + "\n"


def _git_commit() -> str | None:
    try:
        root = Path(__file__).resolve().parents[2]
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=False)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


#: the packages whose versions environment.json records
_RECORDED = ("neuroattn", "numpy", "brian2", "torch", "snntorch", "numba", "pandas",
             "networkx", "scipy")


@functools.lru_cache(maxsize=1)
def package_versions() -> dict:
    """Versions of the packages that shape results (None: not installed).

    Found once per process. A wheel installs its metadata as
    ``{name}-{version}.dist-info`` (the name with each run of ``-_.`` written ``_``), so
    one listing of each ``sys.path`` folder gives every version without opening a
    METADATA file; the first folder that has a package wins, as in ``importlib.metadata``,
    which answers for any package the listing does not find (an egg-info install). The
    listing takes about a millisecond where reading the nine METADATA files took 20-30
    ms of CPU, which ``neuroattn run`` spends while its simulation keeps both cores busy.
    """
    import re
    import sys

    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "_", name).lower()

    wanted = {norm(p): p for p in _RECORDED}
    versions = dict.fromkeys(_RECORDED)
    found = set()
    for folder in sys.path:
        try:
            names = os.listdir(folder or ".")
        except OSError:
            continue
        for entry in names:
            if not entry.endswith(".dist-info"):
                continue
            name, sep, version = entry[:-len(".dist-info")].partition("-")
            pkg = wanted.get(norm(name))
            if sep and version and pkg is not None and pkg not in found:
                versions[pkg] = version
                found.add(pkg)
    missing = [p for p in _RECORDED if p not in found]
    if missing:
        from importlib import metadata

        for pkg in missing:
            try:
                versions[pkg] = metadata.version(pkg)
            except metadata.PackageNotFoundError:
                pass
    return versions


@functools.lru_cache(maxsize=1)
def _machine() -> tuple:
    """(Python version, platform, git commit of the checkout), found once per process.

    ``platform.platform()`` and ``git rev-parse`` take 10-20 ms of wall time each (a
    file read, a child process), which ``neuroattn run`` spends while its simulation
    runs (``experiment._import_figure_modules``). The commit is the checkout's when
    first asked: the code a process runs is what it imported then.
    """
    return platform.python_version(), platform.platform(), _git_commit()


def environment(seed: int) -> dict:
    """Versions of Python and the packages that shape results, the seed, the git commit."""
    python, system, commit = _machine()
    return {"python": python, "platform": system, "packages": dict(package_versions()),
            "seed": seed, "git_commit": commit}


def _release(fig) -> None:
    """Let pyplot forget a saved figure (it keeps every figure it made until closed);
    the Figure object itself stays usable."""
    import sys

    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None and hasattr(fig, "canvas"):
        plt.close(fig)


def _laid_out(fig):
    """``fig`` ready to be saved with one draw.

    ``Figure.tight_layout`` leaves a placeholder layout engine behind, and ``savefig``
    draws a figure with any layout engine twice (once to lay it out, once to render):
    a tight-laid-out figure has its positions already, so the placeholder is dropped
    and each file costs one draw, the same pixels in half the time.
    """
    get = getattr(fig, "get_layout_engine", None)
    if get is not None and type(get()).__name__ == "PlaceHolderLayoutEngine":
        fig.set_layout_engine(None)
    return fig


def save_run(path: Path, config: dict, summary: dict, table, figures: dict | None = None,
             seed: int = 0, formats=("png",)) -> Path:
    """Write a complete run to ``path`` atomically; return ``path``.

    Parameters
    ----------
    path : Path
        Final directory (``run_path(...)``); replaced if it exists.
    config : dict
        The fully resolved config (config.toml).
    summary : dict
        Effects, CIs, targets, pass/fail, bridge figures (summary.json).
    table : pandas.DataFrame
        One row per trial (trials.csv).
    figures : dict name -> matplotlib Figure
        Saved as name.png (and name.pdf, ...: one file per entry of ``formats``).
    formats : sequence of str
        Figure file formats (``"png"``, ``"pdf"``, ``"svg"``); default PNG only (a PDF
        costs about as long again to write).
    """
    formats = tuple(formats)
    for fmt in formats:
        if fmt not in FIGURE_FORMATS:
            raise ValidationError(f"formats: expected a subset of {FIGURE_FORMATS} (got "
                                  f"{fmt!r})")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.tmp-", dir=path.parent))
    try:
        table.to_csv(tmp / "trials.csv", index=False, float_format="%.9g")
        (tmp / "summary.json").write_text(json.dumps(_plain(summary), indent=2, sort_keys=True)
                                          + "\n")
        (tmp / "config.toml").write_text(to_toml(config))
        (tmp / "environment.json").write_text(json.dumps(environment(seed), indent=2) + "\n")
        for name, fig in (figures or {}).items():
            for fmt in formats:
                # the figures lay themselves out (tight_layout); bbox_inches="tight"
                # would draw each one twice more
                _laid_out(fig).savefig(tmp / f"{name}.{fmt}", dpi=120,
                                       **(_PNG if fmt == "png" else {}))
            _release(fig)
        if path.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{path.name}.old-", dir=path.parent))
            os.replace(path, old / "run")
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def load_summary(path: Path) -> dict:
    """The summary.json of a stored run (a comparison's tiers in the order they ran:
    spiking, then softmax, although the file keeps its keys sorted)."""
    summary = json.loads((Path(path) / "summary.json").read_text())
    tiers = summary.get("tiers")
    if isinstance(tiers, dict):
        order = {"spiking": 0, "softmax": 1}
        summary["tiers"] = dict(sorted(tiers.items(), key=lambda kv: order.get(kv[0], 2)))
    return summary
