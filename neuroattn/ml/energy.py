"""Energy per inference from operation counts: two stated conventions.

``arithmetic`` -- the 45 nm convention of the spiking-transformer literature (Horowitz,
ISSCC 2014; 32-bit float): 4.6 pJ per MAC, 0.9 pJ per AC
(:data:`~neuroattn.attention.E_MAC_PJ`, :data:`~neuroattn.attention.E_AC_PJ`).
Memory access is excluded, so it compares arithmetic only.

``memory-aware`` -- the arithmetic plus on-chip SRAM traffic, from the same table
(an 8 KB SRAM reads 64 bits for about 10 pJ, so :data:`E_SRAM_PJ` = 5 pJ per 32-bit
word): every MAC and every AC fetches one weight (one word), and every spiking neuron
update reads and writes its membrane potential (two words). Activations moving
between layers, DRAM (off-chip, ~640 pJ per 32-bit word in the same table) and
control are still excluded; it is a lower bound on a chip's memory energy that
already shows how weight fetches dominate once arithmetic is cheap.
"""

from __future__ import annotations

from neuroattn.attention.ops import E_AC_PJ, E_MAC_PJ

__all__ = ["E_SRAM_PJ", "arithmetic_pj", "memory_aware_pj", "CONVENTIONS"]

#: Energy of reading or writing one 32-bit word of on-chip SRAM at 45 nm (pJ).
E_SRAM_PJ = 5.0

#: One line per estimate, as written into summary.json.
CONVENTIONS = {
    "energy_pj": "45 nm arithmetic (Horowitz 2014): 4.6 pJ/MAC, 0.9 pJ/AC; memory access "
                 "excluded",
    "energy_mem_pj": "arithmetic + SRAM at 5 pJ per 32-bit word: one weight fetch per MAC "
                     "and per AC, membrane read + write per spiking-neuron update; "
                     "activations, DRAM and control excluded",
}


def arithmetic_pj(macs: float, acs: float) -> float:
    """``4.6 macs + 0.9 acs`` pJ.

    Examples
    --------
    >>> round(arithmetic_pj(10, 10), 6)
    55.0
    """
    return E_MAC_PJ * macs + E_AC_PJ * acs


def memory_aware_pj(macs: float, acs: float, neuron_updates: float) -> float:
    """Arithmetic plus ``5 pJ (macs + acs) + 10 pJ neuron_updates``.

    Examples
    --------
    >>> round(memory_aware_pj(10, 10, 1), 6)
    165.0
    """
    return arithmetic_pj(macs, acs) + E_SRAM_PJ * (macs + acs) + 2 * E_SRAM_PJ * neuron_updates
