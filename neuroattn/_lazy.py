"""Packages that export names from their submodules on first use (PEP 562), so that
importing the package imports none of them (torch, numba and the fitting code stay
out of a process that does not use them)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping

__all__ = ["lazy_exports", "LazyRegistry"]


def lazy_exports(package: str, where: dict, namespace: dict):
    """``(__getattr__, __dir__)`` for ``package``: name -> submodule in ``where``."""

    def __getattr__(name):
        if name in where:
            return getattr(importlib.import_module(f"{package}.{where[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(list(namespace) + list(where))

    return __getattr__, __dir__


class LazyRegistry(Mapping):
    """A registry ``name -> object`` whose objects are imported on first use.

    Entries are added as ``"package.module:Name"`` (the object is imported when the
    entry is first read; with ``instance=True``, ``Name()`` is called then) or as the
    object itself (``register``). Names, ``in`` and ``len`` import nothing, so listing
    what is registered (``neuroattn --help``) does not import every module in it.

    Examples
    --------
    >>> reg = LazyRegistry({"ordered": "collections:OrderedDict"})
    >>> sorted(reg), "ordered" in reg
    (['ordered'], True)
    >>> reg["ordered"].__name__
    'OrderedDict'
    >>> reg["mine"] = dict
    >>> del reg["mine"]
    >>> sorted(reg)
    ['ordered']
    """

    def __init__(self, entries=None, instance: bool = False):
        self._where = dict(entries or {})
        self._loaded = {}
        self._instance = instance

    def add(self, name: str, where: str) -> None:
        """Register ``where`` (``"module:Name"``) under ``name``, to be imported on use."""
        self._where[name] = where
        self._loaded.pop(name, None)

    def register(self, name: str, obj) -> None:
        """Register the object ``obj`` itself under ``name``."""
        self._where[name] = None
        self._loaded[name] = obj

    def __setitem__(self, name: str, obj) -> None:
        self.register(name, obj)

    def __delitem__(self, name: str) -> None:
        """Remove ``name`` (``KeyError`` if it is not registered, as a dict's)."""
        del self._where[name]
        self._loaded.pop(name, None)

    def __getitem__(self, name):
        if name in self._loaded:
            return self._loaded[name]
        where = self._where[name]  # KeyError for an unknown name, as a dict's
        module, _, attr = where.partition(":")
        obj = getattr(importlib.import_module(module), attr)
        if self._instance:
            obj = obj()
            if getattr(obj, "name", name) != name:
                raise KeyError(f"{where} is registered as {name!r} but is named "
                               f"{obj.name!r}")
        self._loaded[name] = obj
        return obj

    def __iter__(self):
        return iter(self._where)

    def __len__(self):
        return len(self._where)

    def __contains__(self, name):
        return name in self._where

    def __repr__(self):
        return f"{type(self).__name__}({sorted(self._where)})"
