"""Helpers for the Numba kernels: scalar math that LLVM can vectorise, and vector code.

PyPI's llvmlite has no SVML, so ``np.exp`` inside a Numba loop stays a scalar libm
call (about 5 ns per element). :func:`exp2` instead reduces the argument to
``t = n + r`` with integer ``n`` and ``|r| <= 1/2``, evaluates ``2**r`` by a Taylor
polynomial in ``x = r ln 2`` (degree 7 in float32, 13 in float64) and builds ``2**n``
from its exponent bits. Everything is branch-free arithmetic, so a loop over a
contiguous row compiles to SIMD code. Relative error: < 2e-7 (float32; the polynomial
truncation is 5e-9, the rest is rounding) and < 3e-16 (float64). ``exp2(t)`` is 0 for
``t < -126.5`` (float32) / ``-1022.5`` (float64), so ``exp2(-inf) == 0``.

Also: ``popcount`` of a uint64, via an LLVM intrinsic,
:func:`fetch_add` (an atomic counter, for handing out parallel tasks one at a time),
:func:`transpose64` (a 64 x 64 bit matrix, in place, on eight 512-bit vectors) and
:func:`sum_rows`: ``dst[:] = rows[0] + rows[1] + ...`` (optionally times a scale)
over a tuple of rows, emitted as whole-vector loads, adds and stores. Numba's own loop
for that sum checks at run time, on every call, that ``dst`` overlaps none of the rows
(LLVM cannot prove it) and spends more instructions on those checks than on the sums of
a 64-element row; here each 64-byte chunk is loaded from every row before its sum is
stored, which is correct when ``dst`` is one of the rows, and needs no check.
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic, overload

from neuroattn._bits import bits_to_f32, bits_to_f64

__all__ = ["FASTMATH", "exp2", "popcount", "fetch_add", "sum_rows", "transpose64"]

#: LLVM fast-math flags of the kernels: reassociation (vectorised sums and maxima),
#: contraction (FMA), no signed zeros. Not 'nnan'/'ninf': masked logits are -inf.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

_LN2 = math.log(2.0)


@intrinsic
def popcount(typingctx, x):
    """Number of set bits of a uint64 (``llvm.ctpop``)."""
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):
        fn = builder.module.declare_intrinsic("llvm.ctpop", [ir.IntType(64)])
        return builder.call(fn, args)
    return sig, codegen



@intrinsic
def fetch_add(typingctx, counters, index, value):
    """Atomically ``counters[index] += value``; returns the value before (int64 array).

    For sharing parallel tasks: workers that take their next task from a shared
    counter share the work by speed. Read such counters with ``fetch_add(c, i, 0)``
    only: Numba does not see this function's writes, so a plain ``c[i]`` may be hoisted
    out of a waiting loop, or read as its value before a parallel loop.
    """
    if not (isinstance(counters, types.Array) and counters.dtype == types.int64
            and counters.ndim == 1 and isinstance(index, types.Integer)
            and isinstance(value, types.Integer)):
        return None
    sig = types.int64(counters, index, value)

    def codegen(context, builder, signature, args):
        arr = context.make_array(counters)(context, builder, args[0])
        ptr = builder.gep(arr.data, [context.cast(builder, args[1], index, types.intp)])
        add = context.cast(builder, args[2], value, types.int64)
        return builder.atomic_rmw("add", ptr, add, "seq_cst")
    return sig, codegen


def exp2(t):
    """``2**t`` for a float32 or float64 scalar inside Numba code (see module notes)."""
    return 2.0 ** t


@overload(exp2, jit_options={"fastmath": FASTMATH})
def _exp2_impl(t):
    if t == types.float32:
        lo = np.float32(-127.0)
        cut = np.float32(-126.5)
        ln2 = np.float32(_LN2)
        c = tuple(np.float32(1.0 / math.factorial(i)) for i in range(8))

        def impl(t):
            u = max(t, lo)
            n = np.floor(u + np.float32(0.5))
            x = (u - n) * ln2
            p = c[7]
            p = p * x + c[6]
            p = p * x + c[5]
            p = p * x + c[4]
            p = p * x + c[3]
            p = p * x + c[2]
            p = p * x + c[1]
            p = p * x + c[0]
            bits = (np.int32(n) + np.int32(127)) << np.int32(23)
            r = p * bits_to_f32(bits)
            return r if u > cut else np.float32(0.0)
        return impl
    if t == types.float64:
        lo = -1023.0
        cut = -1022.5
        c = tuple(1.0 / math.factorial(i) for i in range(14))

        def impl(t):
            u = max(t, lo)
            n = np.floor(u + 0.5)
            x = (u - n) * _LN2
            p = c[13]
            p = p * x + c[12]
            p = p * x + c[11]
            p = p * x + c[10]
            p = p * x + c[9]
            p = p * x + c[8]
            p = p * x + c[7]
            p = p * x + c[6]
            p = p * x + c[5]
            p = p * x + c[4]
            p = p * x + c[3]
            p = p * x + c[2]
            p = p * x + c[1]
            p = p * x + c[0]
            bits = (np.int64(n) + np.int64(1023)) << np.int64(52)
            r = p * bits_to_f64(bits)
            return r if u > cut else 0.0
        return impl
    return None


_ROW_DTYPES = (types.uint16, types.uint32, types.uint64, types.int32, types.int64,
               types.float32, types.float64)


def _is_row(x):
    return isinstance(x, types.Array) and x.ndim == 1 and x.layout == "C"


@intrinsic
def sum_rows(typingctx, dst, rows, scale, stream):
    """``dst[e] = scale * (rows[0][e] + rows[1][e] + ...)`` for every e < len(dst).

    ``rows``: a tuple of 1-D C-contiguous arrays of one dtype (uint16/32/64, int32/64,
    float32/64), each at least ``len(dst)`` long (not checked). The sum is taken
    in that dtype; integer sums wrap, so the caller must know that they fit. ``scale``:
    ``None`` — dst (rows' dtype) receives the sum; or a float32 / float64 — the sum is
    converted to that type, multiplied, and stored in dst's dtype (float32 or float64).
    ``dst`` may be one of the rows, but must not otherwise overlap them. ``stream``
    (bool): store whole 64-byte chunks with non-temporal stores (past the caches; for
    large outputs written once) when dst starts on a 64-byte boundary. Pass a constant
    where the caller can: with a flag only known at run time, one kernel's loop over
    sum_rows calls that did not stream ran 35 % slower.
    """
    if not (_is_row(dst) and isinstance(rows, types.UniTuple) and _is_row(rows.dtype)
            and rows.dtype.dtype in _ROW_DTYPES):
        return None
    src = rows.dtype.dtype
    if isinstance(scale, types.NoneType):
        mul = None
        if dst.dtype != src:
            return None
    elif scale in (types.float32, types.float64) and \
            dst.dtype in (types.float32, types.float64):
        mul = scale
    else:
        return None
    if not isinstance(stream, types.Boolean):
        return None

    def codegen(context, builder, signature, args):
        out = context.make_array(dst)(context, builder, args[0])
        n = builder.extract_value(out.shape, 0)
        ptrs = [context.make_array(rows.dtype)(context, builder,
                                               builder.extract_value(args[1], r)).data
                for r in range(rows.count)]
        lanes = 64 // (src.bitwidth // 8)   # one 512-bit register of each row

        def typ(nb_type, width):
            t = context.get_value_type(nb_type)
            return ir.VectorType(t, width) if width > 1 else t

        def convert(x, frm, to, width):
            t = typ(to, width)
            if isinstance(frm, types.Integer):
                return builder.sitofp(x, t) if frm.signed else builder.uitofp(x, t)
            if frm.bitwidth == to.bitwidth:
                return x
            return builder.fptrunc(x, t) if frm.bitwidth > to.bitwidth else \
                builder.fpext(x, t)

        def chunk(index, width, nontemporal=False):
            def at(ptr, nb_type):
                p = builder.gep(ptr, [index], inbounds=True)
                return builder.bitcast(p, typ(nb_type, width).as_pointer())
            vals = [builder.load(at(p, src), align=1) for p in ptrs]
            while len(vals) > 1:   # pairwise sums: a short dependency chain
                pairs = [(vals[i], vals[i + 1]) for i in range(0, len(vals) - 1, 2)]
                vals = [builder.fadd(a, b) if isinstance(src, types.Float)
                        else builder.add(a, b) for a, b in pairs] + vals[2 * len(pairs):]
            total = vals[0]
            if mul is not None:
                factor = args[2]
                if width > 1:
                    undef = ir.Constant(typ(mul, width), ir.Undefined)
                    factor = builder.insert_element(undef, factor, ir.Constant(
                        ir.IntType(32), 0))
                    factor = builder.shuffle_vector(factor, undef, ir.Constant(
                        ir.VectorType(ir.IntType(32), width), [0] * width))
                total = builder.fmul(convert(total, src, mul, width), factor)
                total = convert(total, mul, dst.dtype, width)
            if nontemporal:
                store = builder.store(total, at(out.data, dst.dtype), align=64)
                store.set_metadata("nontemporal", builder.module.add_metadata(
                    [ir.Constant(ir.IntType(32), 1)]))
            else:
                builder.store(total, at(out.data, dst.dtype), align=1)

        step = ir.Constant(n.type, lanes)
        whole = builder.udiv(n, step)

        def chunks(nontemporal):
            with cgutils.for_range(builder, whole) as loop:
                chunk(builder.mul(loop.index, step), lanes, nontemporal)

        if isinstance(stream, types.BooleanLiteral) and not stream.literal_value:
            chunks(False)   # a constant False: no streaming loop to compile
        else:
            address = builder.ptrtoint(out.data, n.type)
            offset = builder.and_(address, ir.Constant(n.type, 63))
            aligned = builder.icmp_unsigned("==", offset, ir.Constant(n.type, 0))
            with builder.if_else(builder.and_(args[3], aligned)) as (streamed, cached):
                with streamed:
                    chunks(True)
                with cached:
                    chunks(False)
        with cgutils.for_range_slice(builder, builder.mul(whole, step), n,
                                     ir.Constant(n.type, 1)) as (index, _):
            chunk(index, 1)
        return context.get_dummy_value()
    return types.void(dst, rows, scale, stream), codegen


_SWAP_MASKS = {32: 0x00000000FFFFFFFF, 16: 0x0000FFFF0000FFFF, 8: 0x00FF00FF00FF00FF,
               4: 0x0F0F0F0F0F0F0F0F, 2: 0x3333333333333333, 1: 0x5555555555555555}


@intrinsic
def transpose64(typingctx, a):
    """Transpose the 64 x 64 bit matrix in a[0:64] (uint64, C-contiguous, at least 64
    long; not checked) in place: bit c of a[r] becomes bit r of a[c].

    Hacker's Delight 7-3: six stages s = 32, 16, ..., 1 exchange the bits with
    ``(r & s) == 0 and (c & s) != 0`` against those with the roles swapped, by
    ``t = ((a[r] >> s) ^ a[r + s]) & mask_s; a[r + s] ^= t; a[r] ^= t << s``. Here the
    64 words are eight vectors of eight: for s >= 8 the partners are whole vectors;
    for s < 8 they are lanes of one vector, paired by a shuffle. About 300 vector
    operations instead of 1150 scalar ones (LLVM lowers the generic vector code to
    whatever the CPU has).
    """
    if not (isinstance(a, types.Array) and a.ndim == 1 and a.layout == "C"
            and a.dtype == types.uint64):
        return None

    def codegen(context, builder, signature, args):
        arr = context.make_array(a)(context, builder, args[0])
        i64 = ir.IntType(64)
        vec = ir.VectorType(i64, 8)

        def ptr(r):
            p = builder.gep(arr.data, [ir.Constant(i64, 8 * r)], inbounds=True)
            return builder.bitcast(p, vec.as_pointer())

        def splat(value):
            return ir.Constant(vec, [value] * 8)

        x = [builder.load(ptr(r), align=8) for r in range(8)]
        for s in (32, 16, 8):
            gap = s // 8
            for r in range(8):
                if r & gap:
                    continue
                t = builder.and_(builder.xor(builder.lshr(x[r], splat(s)), x[r + gap]),
                                 splat(_SWAP_MASKS[s]))
                x[r + gap] = builder.xor(x[r + gap], t)
                x[r] = builder.xor(x[r], builder.shl(t, splat(s)))
        for s in (4, 2, 1):
            partner = ir.Constant(ir.VectorType(ir.IntType(32), 8),
                                  [j ^ s for j in range(8)])
            low = ir.Constant(ir.VectorType(ir.IntType(1), 8),
                              [int(j & s == 0) for j in range(8)])
            for r in range(8):
                other = builder.shuffle_vector(x[r], x[r], partner)
                t = builder.and_(builder.xor(builder.lshr(x[r], splat(s)), other),
                                 splat(_SWAP_MASKS[s]))   # valid in the low lanes
                t_high = builder.shuffle_vector(t, t, partner)
                x[r] = builder.select(low, builder.xor(x[r], builder.shl(t, splat(s))),
                                      builder.xor(x[r], t_high))
        for r in range(8):
            builder.store(x[r], ptr(r), align=8)
        return context.get_dummy_value()
    return types.void(a), codegen
