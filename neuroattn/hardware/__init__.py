"""Neuromorphic prototyping: NIR export and import, fixed-point networks, core mapping,
synaptic-operation and energy estimates. A consumer of the model description: every
mechanism's spiking network goes through it unchanged.

Names are imported from their submodules on first use (``nir`` and the partitioners
load only when needed).
"""

from neuroattn._lazy import lazy_exports

_WHERE = {
    "NIRUnsupported": "nir_io", "export_nir": "nir_io", "import_nir": "nir_io",
    "write_nir": "nir_io", "NIRImport": "nir_io",
    "SynOpCount": "ops", "count_synops": "ops", "with_spike_probes": "ops",
    "energy_table": "ops", "fan_out": "ops", "MEMORY_CAVEAT": "ops",
    "Platform": "platforms", "PLATFORMS": "platforms", "get_platform": "platforms",
    "Mapping": "mapping", "map_network": "mapping", "check_mapping": "mapping",
    "quantize": "fixed_point", "quantize_network": "fixed_point",
    "quantize_drives": "fixed_point", "state_grid": "fixed_point",
    "task_energy": "report", "quantization_report": "report",
    "count_softmax_ops": "report",
}

__all__ = sorted(_WHERE)
__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())
