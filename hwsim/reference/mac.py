"""Reference oracle of MAC units: Python ints and fractions.Fraction only.

Re-implements :mod:`hwsim.mac` (products, Int/Fixed/Float/fused multi-term
accumulators, integer registers fed by a dot-product unit (``fan_in``),
Sequential/Tree/Chunked orders, Tiles reload/separate, bias, statistics) step
by step, slowly and obviously.  Imports only format and
configuration objects: never the compiled library.

>>> from hwsim.mac import MacUnit, IntAccumulator
>>> r = mac_dot([100, 100], [1, 1], MacUnit("int8", "int8", accumulator=IntAccumulator(8)))
>>> (r.value, r.acc_events, r.width_needed)
(-56, 1, 9)
>>> def sat8(fan_in):  # products 100, 0, 100, -100 into an 8-bit register
...     acc = IntAccumulator(8, "saturate", fan_in=fan_in)
...     r = mac_dot([100, 0, 100, 156], [1] * 4, MacUnit("int8", "int8", accumulator=acc))
...     return r.value, r.acc_events, r.max_abs, r.width_needed
>>> sat8(1)  # per product: 200 saturates to 127, then 27
(27, 1, 200.0, 9)
>>> sat8(2)  # per pair: 100, then 100 + (100 - 100)
(100, 0, 100.0, 8)
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..errors import NaNInputError, OverflowValueError
from ..mac.accumulators import FixedAccumulator, FloatAccumulator, FusedMultiTermAccumulator, IntAccumulator
from ..mac.config import Chunked, MacUnit, Tree

__all__ = ["mac_dot", "mac_matmul", "MacRefResult", "round_fraction_to_float",
           "decode_operand"]

from .mac_float import (
    INEXACT,
    INVALID,
    OVERFLOW,
    _round_int,
    absf,
    decode_operand,
    default_nan,
    fin,
    float64_value,
    float_sum,
    inf_code,
    isnan,
    nan_code,
    nan_pick,
    round_fl,
    round_fraction_to_float,
    signed,
    val,
    value_out,
    zero_sign,
)

_fin, _signed, _val, _absf = fin, signed, val, absf


# ---------------------------------------------------------------------------
# registers
# ---------------------------------------------------------------------------
class _Stats:
    def __init__(self, pol):
        self.pol = pol    # the unit's NaN policy
        self.flags = 0    # IEEE flags OR-ed over every step
        self.acc_events = 0
        self.psum_events = 0
        self.max_abs = 0.0
        self.width = 0

    def seen(self, a: float):
        if a > self.max_abs:
            self.max_abs = a


def _width(v: int) -> int:
    return (v if v >= 0 else ~v).bit_length() + 1


class _FixedReg:
    def __init__(self, width, frac, below, overflow, st, unbounded=False):
        self.W, self.F, self.below, self.ovf, self.st = width, frac, below, overflow, st
        self.unbounded = unbounded
        self.v = 0

    def value(self):
        return _fin(Fraction(self.v) / Fraction(2) ** self.F)

    def grid(self, x, flag: bool = False) -> int:
        """x on the register's grid; flag: raise INEXACT when it moved."""
        if x[0] != "fin":
            raise NaNInputError("a NaN/Inf reached an integer / fixed-point accumulator")
        y = _signed(x) * Fraction(2) ** self.F
        k = _round_int(y, self.below)
        if flag and k != y:
            self.st.flags |= INEXACT
        return k

    def _set(self, s: int):
        st = self.st
        st.seen(float(abs(Fraction(s) / Fraction(2) ** self.F)))
        st.width = max(st.width, _width(s))
        lim = 1 << (self.W - 1)
        if self.unbounded or -lim <= s < lim:
            self.v = s
            return
        st.acc_events += 1
        st.flags |= OVERFLOW
        if self.ovf == "wrap":
            s &= (1 << self.W) - 1
            self.v = s - (1 << self.W) if s >= lim else s
        elif self.ovf == "saturate":
            self.v = -lim if s < 0 else lim - 1
        else:
            raise OverflowValueError("accumulator overflow with overflow='error'")

    def mac(self, p):
        self._set(self.v + self.grid(p, True))

    def mac_group(self, prods):
        """One add of a dot-product unit: the exact sum of the products (each on
        the grid) added to the register, one overflow check."""
        self._set(self.v + sum(self.grid(p, True) for p in prods))

    def load_sum(self, terms):
        """register = grid(exact sum of terms), overflow-checked."""
        for t in terms:
            if t[0] != "fin":
                raise NaNInputError("a NaN/Inf reached an integer / fixed-point accumulator")
        self._set(self.grid(_fin(sum((_signed(t) for t in terms), Fraction(0)))))

    def code(self) -> int:
        return self.v & ((1 << self.W) - 1)


class _FloatReg:
    def __init__(self, fmt, mode, overflow, fused, st):
        self.fmt, self.mode, self.ovf, self.fused, self.st = fmt, mode, overflow, fused, st
        self.c = 0  # +0

    def value(self):
        return _val(self.c, self.fmt)

    def _write(self, code, ovf, flags=0):
        self.c = code
        self.st.flags |= flags
        if ovf:
            self.st.acc_events += 1
        a = _absf(self.value())
        if a == a:
            self.st.seen(a)

    def to_fmt(self, p):
        """finite p rounded into the register format: (V, overflowed); flags raised."""
        code, ovf, fl = round_fl(p[1], p[2], self.fmt, self.mode, self.ovf)
        self.st.flags |= fl
        return _val(code, self.fmt), ovf

    def mac(self, p):
        ovf0 = False
        if not self.fused and p[0] == "fin":
            p, ovf0 = self.to_fmt(p)
        code, ovf, fl = float_sum([self.value(), p], self.fmt, self.mode, self.ovf, self.st.pol)
        self._write(code, ovf or ovf0, fl)

    def load(self, x):
        """register = x (an initial bias: a conversion; a signalling NaN is quieted)."""
        if isnan(x):
            self._write(nan_code(self.fmt, x, self.st.pol), False, INVALID if x[3] else 0)
        else:
            self.load_sum([x])

    def load_sum(self, terms):
        code, ovf, fl = float_sum(terms, self.fmt, self.mode, self.ovf, self.st.pol)
        self._write(code, ovf, fl)

    def code(self) -> int:
        return self.c


def _multi_group(reg: _FloatReg, acc: FusedMultiTermAccumulator, prods):
    """One fused multi-term group: prods = [(V, aexp)], c = the register."""
    c = reg.value()
    terms = [v for v, _ in prods] + [c]
    pol = reg.st.pol
    if any(isnan(t) for t in terms):  # priority: the register, then the products
        w, fl = nan_pick([c] + terms[:-1], pol)
        reg._write(nan_code(reg.fmt, w, pol), False, fl)
        return
    if {t[1] for t in terms if t[0] == "inf"} == {0, 1}:
        reg._write(nan_code(reg.fmt, None, pol), False, INVALID)
        return
    infs = [t[1] for t in terms if t[0] == "inf"]
    if infs:
        code, fl = inf_code(reg.fmt, infs[0], reg.ovf)
        reg._write(code, False, fl)
        return
    c_aexp = decode_operand(reg.c, reg.fmt)[1]
    cands = [ae for v, ae in prods if v[2] != 0]
    if acc.c_alignment == "joint" and c[2] != 0:
        cands.append(c_aexp)
    S = Fraction(0)
    if cands:
        unit = Fraction(2) ** (max(cands) - acc.window_bits)
        cut = [v for v, _ in prods] + ([c] if acc.c_alignment == "joint" else [])
        for v in cut:
            if v[2] == 0:
                continue
            y = v[2] / unit
            t = Fraction(y.numerator // y.denominator)
            if acc.shifted_out == "sticky" and t != y:
                t += Fraction(1, 2)
            elif acc.shifted_out == "round":
                t = Fraction(_round_int(y, "rne"))
            S += (-t if v[1] else t) * unit
    if acc.c_alignment == "late":
        S += _signed(c)
    if S == 0:
        zs = zero_sign(terms, any(t[2] != 0 for t in terms), reg.mode)
        reg._write(reg.fmt.sign_bit if (zs and reg.fmt.has_negzero) else 0, False)
        return
    code, ovf, fl = round_fl(1 if S < 0 else 0, abs(S), reg.fmt, reg.mode, reg.ovf)
    reg._write(code, ovf, fl)


def _make_reg(acc, mac: MacUnit, st, unbounded=False):
    if isinstance(acc, IntAccumulator):
        return _FixedReg(acc.bits, mac.product_frac_bits, "truncate", acc.overflow, st, unbounded)
    if isinstance(acc, FixedAccumulator):
        return _FixedReg(acc.width, acc.frac_bits, acc.below_lsb, acc.overflow, st, unbounded)
    if isinstance(acc, FloatAccumulator):
        return _FloatReg(acc.fmt, acc.rounding, acc.overflow, acc.fused, st)
    return _FloatReg(acc.out_fmt, acc.rounding, acc.overflow, True, st)


# ---------------------------------------------------------------------------
# the unit
# ---------------------------------------------------------------------------
def _encode_num(v, fmt, mode: str, overflow: str, pol, inexact: bool = True):
    """(decoded V, aexp, overflowed, flags) of value v encoded into a scalar
    format.  inexact: raise INEXACT for a fixed-point rounding (the engine does
    for a product, not for a partial sum)."""
    if fmt.kind == "float":
        fl = 0
        if v[0] == "fin":
            code, ovf, fl = round_fl(v[1], v[2], fmt, mode, overflow)
        elif isnan(v):
            code, ovf = nan_code(fmt, v, pol), False
        else:
            (code, fl), ovf = inf_code(fmt, v[1], overflow), False
        value, ae = decode_operand(code, fmt)  # a NaN comes out quiet
        return value, ae, ovf, fl
    lo, hi = fmt.min_int, fmt.max_int
    if isnan(v) or (v[0] == "inf" and overflow == "error"):
        raise NaNInputError(f"NaN/Inf cannot be encoded into {fmt.name}")
    fl = 0
    if v[0] == "inf":
        k, ovf, fl = (lo if v[1] else hi), False, INVALID
    else:
        y = _signed(v) * Fraction(2) ** fmt.frac_bits
        k = _round_int(y, mode)
        fl = INEXACT if (inexact and k != y) else 0
        ovf = not lo <= k <= hi
        if ovf:
            fl |= OVERFLOW
            if overflow == "wrap":
                k &= (1 << fmt.bits) - 1
                if fmt.signed and k >= 1 << (fmt.bits - 1):
                    k -= 1 << fmt.bits
            elif overflow == "saturate":
                k = lo if k < lo else hi
                fl |= INEXACT
            else:
                raise OverflowValueError(f"value overflows {fmt.name} with overflow='error'")
    value = _fin(Fraction(k) / Fraction(2) ** fmt.frac_bits)
    return value, ((abs(k).bit_length() - 1 - fmt.frac_bits) if k else None), ovf, fl


class _Run:
    def __init__(self, mac: MacUnit, a_vals, b_vals, unbounded: bool):
        self.mac, self.a, self.b, self.unbounded = mac, a_vals, b_vals, unbounded
        self.st = _Stats(mac.nan)

    def reg(self, acc):
        return _make_reg(acc, self.mac, self.st, self.unbounded)

    def product(self, k):
        (va, ea), (vb, eb) = self.a[k], self.b[k]
        pol = self.st.pol
        if isnan(va) or isnan(vb):
            p, fl = nan_pick([va, vb], pol)
            self.st.flags |= fl
        elif va[0] == "inf" or vb[0] == "inf":
            other = vb if va[0] == "inf" else va
            p = ("inf", va[1] ^ vb[1])
            if other[0] == "fin" and other[2] == 0:  # Inf * 0
                p = default_nan(pol)
                self.st.flags |= INVALID
        else:
            p = ("fin", va[1] ^ vb[1], va[2] * vb[2])
        ae = (ea + eb) if (ea is not None and eb is not None) else None
        m = self.mac
        if m.product is not None:
            p, ae, _, fl = _encode_num(p, m.product, m.product_rounding, m.product_overflow, pol)
            self.st.flags |= fl
        return p, ae

    def seq(self, reg, acc, k0, k1):
        if isinstance(acc, FusedMultiTermAccumulator):
            for g0 in range(k0, k1, acc.fan_in):
                _multi_group(reg, acc, [self.product(k) for k in range(g0, min(g0 + acc.fan_in, k1))])
            return
        g = getattr(acc, "fan_in", 1) if isinstance(acc, IntAccumulator) else 1
        if g > 1:  # groups of fan_in in k order from this reduction's first term
            for g0 in range(k0, k1, g):
                reg.mac_group([self.product(k)[0] for k in range(g0, min(g0 + g, k1))])
            return
        for k in range(k0, k1):
            reg.mac(self.product(k)[0])

    def tree(self, reg, k0, k1):
        acc, f = self.mac.accumulator, self.mac.order.fan_in
        items = []
        for k in range(k0, k1):
            p = self.product(k)[0]
            if isinstance(reg, _FixedReg):
                items.append(_fin(Fraction(reg.grid(p, True)) / Fraction(2) ** reg.F))
            elif not acc.fused and p[0] == "fin":
                q, ovf = reg.to_fmt(p)
                self.st.acc_events += int(ovf)
                items.append(q)
            else:
                items.append(p)
        if not items:
            return
        while len(items) > 1:
            nxt = []
            for g in range(0, len(items), f):
                grp = items[g:g + f]
                if len(grp) == 1:
                    nxt.append(grp[0])
                    continue
                node = self.reg(acc)
                node.load_sum(grp)
                nxt.append(node.value())
            items = nxt
        reg.load_sum([reg.value(), items[0]])

    def reduce(self, reg, k0, k1):
        m = self.mac
        if isinstance(m.order, Tree):
            self.tree(reg, k0, k1)
        elif isinstance(m.order, Chunked):
            for c0 in range(k0, k1, m.order.chunk):
                c = self.reg(m.accumulator)
                self.seq(c, m.accumulator, c0, min(c0 + m.order.chunk, k1))
                reg.load_sum([reg.value(), c.value()])
        else:
            self.seq(reg, m.accumulator, k0, k1)

    def psum(self, v):
        t = self.mac.tiling
        ov = t.psum_overflow  # the widened run: wrap and saturate kept, others saturate
        if self.unbounded and ov not in ("wrap", "saturate"):
            ov = "saturate"
        value, _, ovf, fl = _encode_num(v, t.psum_format, t.psum_rounding, ov, self.st.pol, False)
        self.st.psum_events += int(ovf)
        self.st.flags |= fl
        return value

    def run(self, bias):
        m, K = self.mac, len(self.a)
        t = m.tiling
        T = t.T if t is not None else max(K, 1)
        if t is not None and t.mode == "separate":
            fin = self.reg(m.psum_adder)
            if bias is not None and m.bias == "init":
                self._load(fin, bias)
            for t0 in range(0, K, T):
                r = self.reg(m.top_accumulator)
                self.reduce(r, t0, min(t0 + T, K))
                fin.load_sum([fin.value(), self.psum(r.value())])
        else:
            fin = self.reg(m.top_accumulator)
            if bias is not None and m.bias == "init":
                self._load(fin, bias)
            for t0 in range(0, K, T):
                self.reduce(fin, t0, min(t0 + T, K))
                if t is not None and t0 + T < K:
                    fin.load_sum([self.psum(fin.value())])
        if bias is not None and m.bias == "final":
            fin.load_sum([fin.value(), bias])
        return fin

    @staticmethod
    def _load(reg, bias):
        if isinstance(reg, _FloatReg):
            reg.load(bias)
        else:
            reg.load_sum([bias])


@dataclass
class MacRefResult:
    """One output of the reference: register code, exact value (Fraction, or
    float nan/inf; raw integer for int/fixed registers), statistics, and the
    IEEE flags (:class:`hwsim.modes.Flags` bits) OR-ed over every step."""

    code: int
    value: object
    acc_events: int
    psum_events: int
    max_abs: float
    width_needed: int | None
    flags: int = 0


def _bias_value(bias, mac: MacUnit, codes: bool = False):
    """The bias as a value; codes: ``bias`` is a code of the register it enters."""
    if bias is None:
        return None
    acc = mac.result_accumulator if mac.bias == "final" else (mac.psum_adder or mac.top_accumulator)
    if isinstance(acc, (IntAccumulator, FixedAccumulator)):
        raw = int(bias)
        if codes:
            w = acc.register(mac).width
            raw = raw - (1 << w) if raw >> (w - 1) else raw
        frac = mac.product_frac_bits if isinstance(acc, IntAccumulator) else acc.frac_bits
        return _fin(Fraction(raw) / Fraction(2) ** frac)
    if codes:
        return decode_operand(int(bias), acc.register(mac).fmt)[0]
    return float64_value(float(bias))


def mac_dot(a_codes, b_codes, mac: MacUnit, bias=None, a_zero_point: int = 0,
            b_zero_point: int = 0, *, bias_codes=None) -> MacRefResult:
    """One dot product of code sequences through the MAC unit, exactly
    (bias_codes: the bias as a code of the register it enters)."""
    if len(a_codes) != len(b_codes):
        raise ValueError(f"a_codes and b_codes lengths differ: {len(a_codes)} vs {len(b_codes)}")
    av = [decode_operand(c, mac.a_fmt, a_zero_point) for c in a_codes]
    bv = [decode_operand(c, mac.b_fmt, b_zero_point) for c in b_codes]
    bval = _bias_value(bias_codes, mac, True) if bias_codes is not None else \
        _bias_value(bias, mac)
    run = _Run(mac, av, bv, False)
    fin = run.run(bval)
    width = None
    if any(isinstance(u, (IntAccumulator, FixedAccumulator))
           for u in (mac.accumulator, mac.top_accumulator, mac.result_accumulator)):
        if run.st.acc_events:
            free = _Run(mac, av, bv, True)
            free.run(bval)
            width = free.st.width
        else:
            width = run.st.width
    value = fin.v if isinstance(fin, _FixedReg) else value_out(fin.value())
    return MacRefResult(fin.code(), value, run.st.acc_events, run.st.psum_events,
                        run.st.max_abs, width, run.st.flags)


def mac_matmul(a_codes, b_codes, mac: MacUnit, bias=None, a_zero_point=0, b_zero_point=0,
               n: int | None = None, *, bias_codes=None):
    """[[MacRefResult]] for 2-D code lists a [M][K], b [K][N]; zero points
    scalar or per row (a) / per column (b); bias (or bias_codes) None, scalar
    or [N]; n: N (needed when K = 0)."""
    codes = bias_codes is not None
    if codes:
        bias = bias_codes
    M = len(a_codes)
    N = n if n is not None else (len(b_codes[0]) if len(b_codes) else 0)

    def pick(z, i):
        try:
            return int(z[i]) if len(z) > 1 else int(z[0])
        except TypeError:
            return int(z)
    out = []
    for i in range(M):
        row = []
        for j in range(N):
            col = [b_codes[k][j] for k in range(len(b_codes))]
            bj = None
            if bias is not None:
                bj = (bias[j] if len(bias) > 1 else bias[0]) if hasattr(bias, "__len__") else bias
            row.append(mac_dot(list(a_codes[i]), col, mac, None if codes else bj,
                               pick(a_zero_point, i), pick(b_zero_point, j),
                               bias_codes=bj if codes else None))
        out.append(row)
    return out
