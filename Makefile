# Set-up and everyday commands. `make demo` and `make test` work on a fresh clone.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-test

.PHONY: demo test install bench clean docs interop

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# `neuroattn compile` puts the numba engine's kernel in numba's on-disk cache (about
# 5 s once), so no later process waits for the JIT compiler. compileall writes the
# package's bytecode, as a non-editable install does: where PYTHONDONTWRITEBYTECODE is
# set, every command would otherwise compile the package's modules from source (about
# 0.15 CPU s of each run; docs/engines.md, "Start-up").
$(VENV)/.installed: pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e .
	$(PY) -m compileall -q neuroattn
	$(VENV)/bin/neuroattn compile
	touch $@

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[test]'
	$(PY) -m compileall -q neuroattn
	$(VENV)/bin/neuroattn compile
	touch $(VENV)/.installed $@

install: $(VENV)/.installed

demo: $(VENV)/.installed
	$(VENV)/bin/neuroattn demo

test: $(STAMP)
	$(PY) -m pytest -q -n 2 --dist loadgroup --durations=30 --doctest-modules neuroattn tests

# The documentation site, warnings as errors, into site/ (the test extras include mkdocs).
docs: $(STAMP)
	$(PY) -m mkdocs build --strict

bench: $(VENV)/.installed
	$(PY) benchmarks/spiking.py
	$(PY) benchmarks/attention.py
	$(PY) benchmarks/startup.py

# A second NIR library (Norse) runs an exported graph, in its own environment
# (/tmp/venv-interop, created on first use): benchmarks/nir_interop.py.
interop: $(VENV)/.installed
	$(PY) benchmarks/nir_interop.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info site
