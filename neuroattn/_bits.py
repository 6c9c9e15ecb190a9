"""Bit casts for Numba kernels (shared by the numba engine and the attention kernels)."""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

__all__ = ["bits_to_f32", "bits_to_f64"]


@intrinsic
def bits_to_f32(typingctx, x):
    """The float32 whose bit pattern is the int32 ``x`` (a register move)."""
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())
    return sig, codegen


@intrinsic
def bits_to_f64(typingctx, x):
    """The float64 whose bit pattern is the int64 ``x`` (a register move)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return sig, codegen
