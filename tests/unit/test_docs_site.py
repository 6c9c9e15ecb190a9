"""The documentation site builds with warnings as errors, and its examples run.

``mkdocs build --strict`` fails on a broken link or anchor, a page missing from the
nav, and a docstring the API reference cannot read (mkdocs.yml, ``validation``); the
tests here also check that the API pages, the pages of the nav and the figures are
in the built site, and run the examples of docs/hardware.md as doctests.
"""

from __future__ import annotations

import doctest
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def _installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


HAVE_MKDOCS = all(_installed(m) for m in ("mkdocs", "mkdocstrings", "mkdocstrings_handlers.python"))
needs_mkdocs = pytest.mark.skipif(
    not HAVE_MKDOCS, reason="mkdocs, mkdocstrings or mkdocstrings-python is not installed "
                            "(pip install -e '.[docs]'; the test extras install them)")

# One worker builds the site once for every test of this module.
pytestmark = pytest.mark.xdist_group("docs_site")

#: API page -> objects whose entries it must hold (the anchors mkdocstrings writes)
API_OBJECTS = {
    "api/model.html": ["neuroattn.model.network.Network", "neuroattn.model.trials.Trials",
                       "neuroattn.model.recording.Recording", "neuroattn.model.units.to_si"],
    "api/neurons.html": ["neuroattn.neurons.lif.lif_step", "neuroattn.neurons.escape.EscapeParams"],
    "api/backends.html": ["neuroattn.backends.simulate", "neuroattn.backends.numba.run",
                          "neuroattn.backends.torch.SpikingNetworkModule"],
    "api/attention.html": ["neuroattn.attention.dispatch.scaled_dot_product_attention",
                           "neuroattn.attention.spike.spiking_self_attention",
                           "neuroattn.attention.ops.OpCount",
                           "neuroattn.attention.layers.SpikingSelfAttention"],
    "api/mechanisms.html": ["neuroattn.mechanisms.base.Mechanism",
                            "neuroattn.mechanisms.biased_competition.circuits.LIFCircuit",
                            "neuroattn.mechanisms.biased_competition.bridge.calibrate"],
    "api/tasks.html": ["neuroattn.tasks.base.Task", "neuroattn.tasks.posner.Posner",
                       "neuroattn.tasks.targets"],
    "api/study.html": ["neuroattn.study.store.save_run", "neuroattn.study.config",
                       "neuroattn.study.experiment", "neuroattn.study.report"],
    "api/exceptions.html": ["neuroattn.exceptions.ValidationError",
                            "neuroattn.exceptions.BackendUnavailable"],
}


#: public modules the API reference does not render, and why
NOT_ON_API_PAGES = {
    "neuroattn": "its public names are the exceptions (api/exceptions.md)",
    "neuroattn.cli": "the command line; its commands are in getting_started.md",
    "neuroattn.backends.torch.engine": "its public names are rendered as neuroattn.backends.torch",
    "neuroattn.backends.torch.module": "its public names are rendered as neuroattn.backends.torch",
}


def _public_modules() -> set[str]:
    """Dotted names of the package's modules with no private (``_``) part."""
    names = set()
    for path in (ROOT / "neuroattn").rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not any(p.startswith("_") for p in parts):
            names.add(".".join(parts))
    return names


def _nav_pages(config: str) -> list[str]:
    """The .md files the nav of mkdocs.yml names (read as text: no YAML tags needed)."""
    return re.findall(r"^\s*-\s[^:\n]+:\s*(\S+\.md)\s*$", config, flags=re.M)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("docs") / "site"
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--config-file",
         str(ROOT / "mkdocs.yml"), "--site-dir", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (
        f"mkdocs build --strict failed (exit {proc.returncode}); its log:\n"
        f"{proc.stdout}{proc.stderr}")
    return out


@needs_mkdocs
def test_every_nav_page_is_built(site):
    pages = _nav_pages((ROOT / "mkdocs.yml").read_text())
    assert "index.md" in pages and "hardware.md" in pages and "experiments.md" in pages
    missing = [p for p in pages if not (site / p).with_suffix(".html").is_file()]
    assert not missing, f"nav pages not in the built site: {missing}"


@needs_mkdocs
def test_api_pages_hold_the_docstrings(site):
    for page, objects in API_OBJECTS.items():
        html = (site / page).read_text()
        missing = [o for o in objects if f'id="{o}"' not in html]
        assert not missing, f"{page}: no entry for {missing}"


@needs_mkdocs
def test_figures_are_in_the_site_and_on_a_page(site):
    figures = sorted(p.name for p in (DOCS / "images").glob("*.png"))
    assert {"posner_compare.png", "posner_bridge.png"} <= set(figures)
    pages = "".join(p.read_text() for p in site.rglob("*.html"))
    for name in figures:
        assert (site / "images" / name).is_file(), f"images/{name} was not copied"
        assert f'src="images/{name}"' in pages or f'src="../images/{name}"' in pages, \
            f"docs/images/{name} is shown on no page"
    experiments = (site / "experiments.html").read_text()
    assert 'src="images/posner_compare.png"' in experiments


def test_every_public_module_is_on_an_api_page():
    rendered = set()
    for page in (DOCS / "api").glob("*.md"):
        rendered |= set(re.findall(r"^::: (\S+)\s*$", page.read_text(), flags=re.M))
    modules = _public_modules()
    assert not set(NOT_ON_API_PAGES) - modules, "NOT_ON_API_PAGES names a module that is gone"
    missing = sorted(modules - rendered - set(NOT_ON_API_PAGES))
    assert not missing, (f"public modules missing from the API reference: {missing}; add a "
                         f"'::: module' block to a page in docs/api/")


def test_hardware_examples_run():
    # The outputs pasted into docs/hardware.md are what the code prints.
    pytest.importorskip("torch", reason="the hardware page's layer example needs torch")
    result = doctest.testfile(str(DOCS / "hardware.md"), module_relative=False,
                              optionflags=doctest.NORMALIZE_WHITESPACE, report=False,
                              verbose=False)
    assert result.attempted > 20
    assert result.failed == 0, (
        f"{result.failed} of {result.attempted} examples in docs/hardware.md failed; "
        f"run python -m doctest -o NORMALIZE_WHITESPACE docs/hardware.md to see them")
