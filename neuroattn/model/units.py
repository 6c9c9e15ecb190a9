"""Conversion of user values to SI floats, and the checks every description uses.

``model/`` never imports brian2: a brian2 ``Quantity`` is recognised by its ``dim``
attribute (a ``Dimension`` whose ``_dims`` holds the exponents of m, kg, s, A, K, mol,
cd) and converted once, here, to a float in SI units.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from neuroattn.exceptions import ValidationError

__all__ = ["to_si", "to_si_array", "check_positive", "check_int", "check_choice",
           "check_memory", "available_memory", "format_bytes"]

# Exponents of (m, kg, s, A, K, mol, cd) for each unit the package uses.
_DIMS = {
    "s": (0, 0, 1, 0, 0, 0, 0),
    "V": (2, 1, -3, -1, 0, 0, 0),
    "A": (0, 0, 0, 1, 0, 0, 0),
    "Hz": (0, 0, -1, 0, 0, 0, 0),
    "ohm": (2, 1, -3, -2, 0, 0, 0),
    "1": (0, 0, 0, 0, 0, 0, 0),
    "S": (-2, -1, 3, 2, 0, 0, 0),
    "F": (-2, -1, 4, 2, 0, 0, 0),
}

_EXAMPLES = {
    "s": "20*ms or 0.02",
    "V": "-70*mV or -0.07",
    "A": "200*pA or 2e-10",
    "Hz": "10*Hz or 10.0",
    "ohm": "100*Mohm or 1e8",
    "1": "a plain number",
    "S": "2.1*nS or 2.1e-9",
    "F": "0.5*nF or 5e-10",
}


def _dims_of(value: Any) -> tuple | None:
    dim = getattr(value, "dim", None)
    if dim is None:
        return None
    dims = getattr(dim, "_dims", None)
    return tuple(int(round(d)) for d in dims) if dims is not None else None


def to_si(value: Any, unit: str, where: str) -> float:
    """Return ``value`` as a float in SI ``unit``; accept brian2 Quantities.

    Parameters
    ----------
    value : float or brian2 Quantity
    unit : str
        One of ``'s'``, ``'V'``, ``'A'``, ``'Hz'``, ``'ohm'``, ``'S'``, ``'F'``, ``'1'``.
    where : str
        ``'Object.attribute'`` for the error message.

    Raises
    ------
    ValidationError
        If the value has the wrong dimension, is not a number, or is not finite.
    """
    dims = _dims_of(value)
    if dims is not None:
        if dims != _DIMS[unit]:
            raise ValidationError(
                f"{where}: expected a quantity in {unit} (got {value!r}); "
                f"pass e.g. {_EXAMPLES[unit]}"
            )
        value = np.asarray(value).item() if np.ndim(value) == 0 else value
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValidationError(
            f"{where}: expected a number in {unit} (got {value!r} of type "
            f"{type(value).__name__}); pass e.g. {_EXAMPLES[unit]}"
        )
    out = float(value)
    if not math.isfinite(out):
        raise ValidationError(f"{where}: must be finite (got {out}); pass e.g. {_EXAMPLES[unit]}")
    return out


def to_si_array(value: Any, unit: str, where: str) -> np.ndarray:
    """Return ``value`` as a float64 array in SI ``unit``; accept brian2 Quantities."""
    dims = _dims_of(value)
    if dims is not None and dims != _DIMS[unit]:
        raise ValidationError(
            f"{where}: expected an array in {unit} (got dimension of {value!r}); "
            f"pass e.g. {_EXAMPLES[unit]}"
        )
    try:
        arr = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{where}: expected an array of numbers in {unit} ({exc})") from None
    if not np.all(np.isfinite(arr)):
        raise ValidationError(f"{where}: must be finite everywhere (found NaN or Inf)")
    return arr


def check_positive(value: float, unit: str, where: str, *, allow_zero: bool = False) -> None:
    """Raise ValidationError unless ``value`` > 0 (or >= 0 with ``allow_zero``)."""
    ok = value >= 0 if allow_zero else value > 0
    if not ok:
        rel = ">= 0" if allow_zero else "> 0"
        raise ValidationError(
            f"{where}: must be {rel} {unit} (got {value:g}); pass e.g. {_EXAMPLES[unit]}"
        )


def check_int(value: Any, where: str, *, minimum: int = 0) -> int:
    """Return ``value`` as int, raising ValidationError unless it is an integer >= minimum."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValidationError(
            f"{where}: expected an integer >= {minimum} (got {value!r} of type "
            f"{type(value).__name__})"
        )
    if value < minimum:
        raise ValidationError(f"{where}: must be >= {minimum} (got {value})")
    return int(value)


def check_choice(value: Any, where: str, choices) -> Any:
    """Return ``value`` unless it is not one of ``choices``; then raise naming them."""
    if value not in tuple(choices):
        raise ValidationError(f"{where}: expected one of {list(choices)} (got {value!r})")
    return value


def available_memory() -> int | None:
    """Bytes of memory this machine can give a process now (Linux ``MemAvailable``), or
    None where that is unknown."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import os

        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def format_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KiB'``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def check_memory(nbytes: float, where: str, what: str, advice: str) -> None:
    """Refuse, before allocating it, a size this machine cannot hold.

    Parameters
    ----------
    nbytes : float
        The estimated bytes.
    where : str
        The parameter that sets the size (``--trials``, ``simulate.trials``).
    what : str
        What the bytes are, for the message (``'2000 trials of 0.6 s'``).
    advice : str
        What to do instead.

    Raises
    ------
    ValidationError
        If ``nbytes`` exceeds the memory available now (or 1 PiB where that is unknown).
    """
    limit = available_memory()
    limit = 2.0 ** 50 if limit is None else limit
    if nbytes > limit:
        raise ValidationError(f"{where}: {what} need about {format_bytes(nbytes)} of memory; "
                              f"{format_bytes(limit)} are available; {advice}")
