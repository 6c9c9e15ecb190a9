"""Packages that export names from their submodules on first use (PEP 562), so that
importing the package imports none of them (torch, numba and the fitting code stay
out of a process that does not use them)."""

from __future__ import annotations

import importlib

__all__ = ["lazy_exports"]


def lazy_exports(package: str, where: dict, namespace: dict):
    """``(__getattr__, __dir__)`` for ``package``: name -> submodule in ``where``."""

    def __getattr__(name):
        if name in where:
            return getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(list(namespace) + list(where))

    return __getattr__, __dir__
