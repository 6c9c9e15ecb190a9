"""Resident-memory readings shared by the benchmark scripts (Linux /proc)."""

from __future__ import annotations


def rss_kib(field: str) -> int:
    """A size field of /proc/self/status in KiB: ``"VmRSS:"`` now, ``"VmHWM:"`` peak."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field):
                return int(line.split()[1])
    raise RuntimeError(f"/proc/self/status has no {field!r} line")
