"""Synaptic transmission: projections grouped by (port, delay) into one matrix each.

A group's matrix covers the bounding box of its sources (rows) and targets (columns)
on the neuron axis. Small or dense groups use a dense matrix and ``spikes @ W``;
large sparse ones a CSR matrix of ``W^T`` and ``torch.sparse.mm`` (differentiable in
both the spikes and the weight values). Repeated (source, target) pairs are summed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F

__all__ = ["Group", "make_groups", "group_matrix", "transmit"]

#: a group uses a sparse matrix when its bounding box holds more entries than this and
#: at most SPARSE_DENSITY of them are synapses (``sparse=None``)
SPARSE_MIN_ENTRIES = 1 << 20
SPARSE_DENSITY = 0.1


@dataclass(frozen=True)
class Group:
    """Projections sharing a port and a delay, on the box [r0, r1) x [c0, c1).

    ``inverse`` maps each synapse (blocks concatenated in order) to its entry among
    the distinct (row, col) pairs; ``rows``/``cols`` are the entries' box coordinates,
    sorted by (col, row) so that with ``crow`` they form a CSR matrix of W^T.
    ``by_row`` lists the entries sorted by (row, col) and ``crow_src`` points into it
    per source row (a CSR matrix of W, for event-driven transmission).
    """

    port: int
    delay: int
    blocks: tuple
    r0: int
    r1: int
    c0: int
    c1: int
    sparse: bool
    inverse: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    crow: np.ndarray
    by_row: np.ndarray
    crow_src: np.ndarray


def make_groups(blocks, sparse=None) -> tuple:
    """Group synapse blocks by (port, delay); ``sparse`` True/False forces the format."""
    keys = []
    for b in blocks:
        if (b.port, b.delay) not in keys:
            keys.append((b.port, b.delay))
    groups = []
    for port, delay in keys:
        members = tuple(i for i, b in enumerate(blocks) if (b.port, b.delay) == (port, delay))
        rows = np.concatenate([blocks[i].rows for i in members]).astype(np.int64)
        cols = np.concatenate([blocks[i].cols for i in members]).astype(np.int64)
        if rows.size == 0:
            continue
        r0, r1, c0, c1 = int(rows.min()), int(rows.max()) + 1, int(cols.min()), int(cols.max()) + 1
        rows, cols = rows - r0, cols - c0
        width = r1 - r0
        pairs, inverse = np.unique(cols * width + rows, return_inverse=True)
        ucol, urow = np.divmod(pairs, width)
        box = width * (c1 - c0)
        use_sparse = (box > SPARSE_MIN_ENTRIES and pairs.size <= SPARSE_DENSITY * box) \
            if sparse is None else bool(sparse)
        crow = np.concatenate([[0], np.cumsum(np.bincount(ucol, minlength=c1 - c0))])
        by_row = np.lexsort((ucol, urow))
        crow_src = np.concatenate([[0], np.cumsum(np.bincount(urow, minlength=width))])
        groups.append(Group(port, delay, members, r0, r1, c0, c1, use_sparse,
                            inverse.reshape(-1), urow, ucol, crow.astype(np.int64),
                            by_row.astype(np.int64), crow_src.astype(np.int64)))
    return tuple(groups)


def group_matrix(group: Group, values, index: dict):
    """The group's weight matrix from the synapses' signed weights ``values`` (A).

    ``index`` holds the group's index arrays (``Group`` fields) as tensors on the
    device. Returns a dense [rows, cols] matrix; for a sparse group, a CSR matrix of its
    transpose, or -- on the CPU when no gradient is being recorded -- an ``_Events``
    table for event-driven transmission (work proportional to the spikes, not the
    synapses; on CUDA the CSR product avoids a host sync per step).
    """
    n_entries = index["rows"].numel()
    merged = values.new_zeros(n_entries).index_add(0, index["inverse"], values)
    nr, nc = group.r1 - group.r0, group.c1 - group.c0
    if not group.sparse:
        return values.new_zeros(nr, nc).index_put((index["rows"], index["cols"]), merged)
    if not torch.is_grad_enabled() and values.device.type == "cpu":
        order = index["by_row"]
        return _Events(index["crow_src"], index["cols"][order] + group.c0, merged[order])
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta",
                                category=UserWarning)
        return torch.sparse_csr_tensor(index["crow"], index["rows"], merged, (nc, nr),
                                       check_invariants=False)


class _Events(NamedTuple):
    """W as CSR by source: row pointers, global target columns, weights (A)."""

    crow: torch.Tensor
    cols: torch.Tensor
    values: torch.Tensor


def transmit(group: Group, matrix, spikes, n: int):
    """Current jumps [trials, n] caused by ``spikes`` [trials, n] through ``matrix``.

    Returns None when an event-driven group received no spike.
    """
    src = spikes[:, group.r0:group.r1]
    if isinstance(matrix, _Events):
        trial, pre = torch.nonzero(src, as_tuple=True)
        if trial.numel() == 0:
            return None
        start = matrix.crow[pre]
        length = matrix.crow[pre + 1] - start
        spike_of = torch.repeat_interleave(length)
        first = torch.cumsum(length, 0) - length
        entry = start[spike_of] + torch.arange(spike_of.numel(), device=src.device) \
            - first[spike_of]
        return src.new_zeros(src.shape[0], n).index_put_(
            (trial[spike_of], matrix.cols[entry]), matrix.values[entry] * src[trial, pre][spike_of],
            accumulate=True)
    if group.sparse:
        out = torch.sparse.mm(matrix, src.t()).t()
    else:
        out = src @ matrix
    if group.c0 == 0 and group.c1 == n:
        return out
    return F.pad(out, (group.c0, n - group.c1))
