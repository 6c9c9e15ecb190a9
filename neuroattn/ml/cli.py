"""The ``neuroattn ml`` command's handler (the parser lives in :mod:`neuroattn.cli`)."""

from __future__ import annotations

import time
from dataclasses import replace

from neuroattn.exceptions import ValidationError

__all__ = ["ml_command"]


def ml_command(args) -> int:
    """Run ``neuroattn ml TASK --attention A,B --seeds N``; print the tables; 0 on success."""
    from neuroattn.ml.harness import default_run, format_bridge, format_table, run_ml

    run = default_run(args.task, args.attention, args.seeds)
    if args.epochs is not None:
        run = replace(run, training=replace(run.training, epochs=args.epochs))
    if args.length is not None:
        if run.task != "recall":
            raise ValidationError(f"--length: only the recall task has a length (got "
                                  f"--length {args.length} with {run.task!r})")
        near = min(run.task_options.get("near", 0), max(args.length - 2, 0))
        run = replace(run, task_options={**run.task_options, "length": args.length,
                                         "n_keys": args.length, "near": near})
    if args.steps is not None:
        run = replace(run, bridge_steps=args.steps)
    device = None
    if args.device is not None:
        import torch

        if args.device not in ("cpu", "cuda"):
            raise ValidationError(f"--device: must be 'cpu' or 'cuda' (got {args.device!r})")
        if args.device == "cuda" and not torch.cuda.is_available():
            raise ValidationError("--device: 'cuda' requested but torch sees no CUDA device")
        device = torch.device(args.device)
    run.validate()
    t0 = time.perf_counter()
    res = run_ml(run, args.out, args.force, progress=not args.no_progress, device=device,
                 workers=args.workers)
    print(f"neuroattn ml {run.task}: {', '.join(run.attention)}; seeds 0..{run.seeds - 1}\n")
    print(format_table(res.summary))
    bridge = format_bridge(res.summary)
    if bridge:
        print(f"\nbridge: accuracy against the spiking circuit's time steps (row above at "
              f"{run.bridge_steps} steps)\n")
        print(bridge)
    where = "answered from the store (--force to rerun)" if res.from_store else "written"
    print(f"\nresults {where}: {res.path}  ({time.perf_counter() - t0:.1f} s)")
    print("figures: accuracy_energy.png")
    return 0
