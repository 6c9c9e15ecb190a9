"""Operation counts and the 45 nm energy convention, against counts made by hand."""

import numpy as np
import pytest

from neuroattn.attention import (E_AC_PJ, E_MAC_PJ, OpCount, linear_ops,
                                 softmax_attention_ops, spiking_attention_ops)


def test_softmax_attention_counts():
    # 2 heads, 3 queries, 4 keys, width 5, values 6: 24 pairs.
    ops = softmax_attention_ops(3, 4, 5, 6, batch=2)
    assert ops == OpCount(macs=24 * 11, acs=24, exps=24)
    assert softmax_attention_ops(4, 4, 2, 2, visible=10) == OpCount(macs=40, acs=10, exps=10)


def test_linear_counts_real_and_spiking_inputs():
    assert linear_ops(3, 8, 5) == OpCount(macs=120)
    assert linear_ops(3, 8, 5, input_spikes=7) == OpCount(acs=35)


def test_spiking_attention_counts_by_hand():
    q = np.array([[1, 0, 1], [0, 0, 0], [1, 1, 1]])       # nnz per query: 2, 0, 3
    k = np.array([[1, 1, 0], [0, 0, 1]])                 # nnz per key: 2, 1
    v = np.array([[1, 0], [1, 1]])                       # nnz per value: 1, 2
    # K^T V: 2*1 + 1*2 = 4 accumulates; Q (K^T V): (2 + 0 + 3) * 2 = 10.
    assert spiking_attention_ops(q, k, v) == OpCount(acs=14)
    # Batch of two heads sharing k, v: each head pays its own K^T V.
    assert spiking_attention_ops(np.stack([q, q]), k, v) == OpCount(acs=28)


def test_energy_convention():
    ops = OpCount(macs=10, acs=100, exps=5)
    assert E_MAC_PJ == 4.6 and E_AC_PJ == 0.9
    assert ops.energy_pj == pytest.approx(10 * 4.6 + 100 * 0.9)
    assert ops.energy_j == pytest.approx(136e-12)
    assert ops + OpCount(macs=1) == OpCount(macs=11, acs=100, exps=5)
