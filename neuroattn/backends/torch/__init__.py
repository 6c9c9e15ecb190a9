"""The torch engine: batched trials on CPU or CUDA, differentiable through surrogate spikes.

``run(spec, progress=False, **options) -> Recording`` is the registry entry point
(``simulate(..., backend='torch', device='cuda')``); it runs
:class:`SpikingNetworkModule` under ``torch.no_grad()``. The module itself is the
training API: its forward pass maps input values [trials, rows, channels] to binned
rates [trials, bins, units] through snnTorch surrogate gradients, so weights, biases,
thresholds and time constants train with any torch optimiser.

Options of ``run``: ``device`` ('cpu' or 'cuda'), ``dtype`` ('float32' or 'float64'),
``sparse`` (None: chosen per synapse group; True: CSR; False: dense) and
``batch_size`` (trials simulated at once; the results do not depend on it).
"""

from neuroattn.backends.torch.engine import OPTIONS, run
from neuroattn.backends.torch.module import TRAINABLE, SpikingNetworkModule

__all__ = ["OPTIONS", "TRAINABLE", "SpikingNetworkModule", "run"]
