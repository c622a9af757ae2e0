"""Reference oracle of MAC units: Python ints and fractions.Fraction only.

Re-implements :mod:`hwsim.mac` (products, Int/Fixed/Float/fused multi-term
accumulators, Sequential/Tree/Chunked orders, Tiles reload/separate, bias,
statistics) step by step, slowly and obviously.  Imports only format and
configuration objects: never the compiled library.

>>> from hwsim.mac import MacUnit, IntAccumulator
>>> r = mac_dot([100, 100], [1, 1], MacUnit("int8", "int8", accumulator=IntAccumulator(8)))
>>> (r.value, r.acc_events, r.width_needed)
(-56, 1, 9)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

from ..errors import NaNInputError, OverflowValueError
from ..mac.accumulators import FixedAccumulator, FloatAccumulator, FusedMultiTermAccumulator, IntAccumulator
from ..mac.config import Chunked, MacUnit, Tree

__all__ = ["mac_dot", "mac_matmul", "MacRefResult", "round_fraction_to_float",
           "decode_operand"]

NAN = ("nan",)


# ---------------------------------------------------------------------------
# values: ("fin", sign, Fraction magnitude) | ("inf", sign) | NAN
# ---------------------------------------------------------------------------
def _fin(x: Fraction, sign=None):
    if sign is None:
        sign = 1 if x < 0 else 0
    return ("fin", sign, abs(Fraction(x)))


def _signed(v) -> Fraction:
    return -v[2] if v[1] else v[2]


def _floor_log2(x: Fraction) -> int:
    n, d = x.numerator, x.denominator
    e = n.bit_length() - d.bit_length()
    if (n < d << e) if e >= 0 else (n << -e < d):
        e -= 1
    return e


def _round_int(y: Fraction, mode: str) -> int:
    """y (signed) rounded to an integer: rne rna rtz rup rdn rto, or 'truncate' (floor)."""
    neg = y < 0
    a = -y if neg else y
    k = a.numerator // a.denominator
    r = a - k
    if mode in ("truncate", "rdn"):
        inc = neg and r > 0
    elif mode == "rup":
        inc = (not neg) and r > 0
    elif mode == "rtz":
        inc = False
    elif mode == "rne":
        inc = r > Fraction(1, 2) or (r == Fraction(1, 2) and k % 2 == 1)
    elif mode == "rna":
        inc = r >= Fraction(1, 2)
    elif mode == "rto":
        inc = False
        if r > 0:
            k |= 1
    else:
        raise ValueError(f"unknown rounding mode {mode!r}")
    k += int(inc)
    return -k if neg else k


# ---------------------------------------------------------------------------
# float formats
# ---------------------------------------------------------------------------
def decode_operand(code, fmt, zero_point: int = 0):
    """(value, aexp) of one operand code; aexp: alignment exponent or None.
    Block formats (mx, nvfp4, bfp): ``code`` is the operand's exact value
    (element x block factor, e.g. from ``BlockTensor.values()``)."""
    if fmt.kind in ("mx", "nvfp4", "bfp"):
        x = float(code)
        if x != x:
            return NAN, None
        neg = 1 if math.copysign(1.0, x) < 0 else 0
        if x in (float("inf"), float("-inf")):
            return ("inf", neg), None
        v = abs(Fraction(x))
        return ("fin", neg, v), (_floor_log2(v) if v else None)
    code = int(code)
    if fmt.kind != "float":
        if not 0 <= code < 1 << fmt.bits:
            raise ValueError(f"code {code} is not a code of {fmt.name}")
        raw = code - (1 << fmt.bits) if (fmt.signed and code >> (fmt.bits - 1)) else code
        v = raw - int(zero_point)
        val = _fin(Fraction(v, 1) / Fraction(2) ** fmt.frac_bits)
        return val, (abs(v).bit_length() - 1 - fmt.frac_bits) if v else None
    cls = fmt.classify(code)
    sign = 1 if (fmt.signed and code & fmt.sign_bit) else 0
    if cls == "nan":
        return NAN, None
    if cls == "inf":
        return ("inf", sign), None
    if cls == "zero":
        return ("fin", sign if fmt.has_negzero else 0, Fraction(0)), None
    mag = abs(fmt.decode_exact(code))
    return ("fin", sign, mag), (_floor_log2(mag) if cls == "normal" else fmt.emin)


def _code_of(fmt, sign: int, mag: Fraction) -> int:
    M = fmt.man_bits
    if mag == 0:
        return fmt.sign_bit if (sign and fmt.has_negzero) else 0
    E = _floor_log2(mag)
    if E < fmt.emin:
        m = mag / Fraction(2) ** (fmt.emin - M)
        code = int(m)
    else:
        m = mag / Fraction(2) ** (E - M) - (1 << M)
        code = ((E + fmt.bias) << M) | int(m)
    return code | (fmt.sign_bit if sign else 0)


def _special_code(fmt, nan: bool, sign: int, overflow: str) -> int:
    """NaN, or an Inf input, into a float format (hwsim encode semantics)."""
    s = fmt.sign_bit if sign else 0
    if nan:
        if fmt.has_nan:
            return fmt.nan_code
        raise NaNInputError(f"NaN reached {fmt.name}, which has no NaN")
    if overflow == "saturate":
        return s | fmt.max_code
    if overflow == "saturate_finite_keep_inf":
        return (fmt.inf_code | s) if fmt.has_inf else (s | fmt.max_code)
    if overflow == "special":
        if fmt.has_inf:
            return fmt.inf_code | s
        if fmt.has_nan:
            return (s | fmt.nan_code) if fmt.specials == "fn" else fmt.nan_code
        raise NaNInputError(f"Inf reached {fmt.name}, which has neither Inf nor NaN")
    raise OverflowValueError(f"Inf reached {fmt.name} with overflow='error'")


def round_fraction_to_float(sign: int, mag: Fraction, fmt, mode: str, overflow: str):
    """(code, overflowed) of (-1)^sign * mag rounded once into fmt."""
    if mag == 0:
        return _code_of(fmt, sign, Fraction(0)), False
    M = fmt.man_bits
    E = _floor_log2(mag)
    q = E - M if E >= fmt.emin else (fmt.emin - M if fmt.subnormals else fmt.emin)
    k = _round_int(Fraction(mag) / Fraction(2) ** q * (-1 if sign else 1), mode)
    r = abs(Fraction(k) * Fraction(2) ** q)
    if r > Fraction(fmt.max_finite):
        s = fmt.sign_bit if sign else 0
        if overflow in ("saturate", "saturate_finite_keep_inf"):
            return s | fmt.max_code, True
        if overflow == "error":
            raise OverflowValueError(f"overflow of {fmt.name} with overflow='error'")
        toward_zero = mode in ("rtz", "rto") or (mode == "rdn" and not sign) or \
            (mode == "rup" and sign)
        if toward_zero:
            return s | fmt.max_code, True
        return _special_code(fmt, False, sign, "special"), True
    return _code_of(fmt, sign, r), False


def _zero_sign(terms, nonzero: bool, mode: str) -> int:
    """IEEE sign of an exact zero sum of the given (zero) terms."""
    if not nonzero:
        signs = {t[1] for t in terms}
        if signs == {1}:
            return 1
        if signs == {0}:
            return 0
    return 1 if mode == "rdn" else 0


def _float_sum(terms, fmt, mode: str, overflow: str):
    """(code, overflowed): the exact sum of V terms rounded once into fmt."""
    if any(t == NAN for t in terms):
        return _special_code(fmt, True, 0, overflow), False
    infs = {t[1] for t in terms if t[0] == "inf"}
    if len(infs) == 2:
        return _special_code(fmt, True, 0, overflow), False
    if infs:
        return _special_code(fmt, False, infs.pop(), overflow), False
    total = sum((_signed(t) for t in terms), Fraction(0))
    if total == 0:
        zs = _zero_sign(terms, any(t[2] != 0 for t in terms), mode)
        return _code_of(fmt, zs, Fraction(0)), False
    return round_fraction_to_float(1 if total < 0 else 0, abs(total), fmt, mode, overflow)


def _val(code: int, fmt):
    return decode_operand(code, fmt)[0]


def _absf(v) -> float:
    if v == NAN:
        return float("nan")
    if v[0] == "inf":
        return float("inf")
    return float(v[2])


# ---------------------------------------------------------------------------
# registers
# ---------------------------------------------------------------------------
class _Stats:
    def __init__(self):
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

    def grid(self, x) -> int:
        if x[0] != "fin":
            raise NaNInputError("a NaN/Inf reached an integer / fixed-point accumulator")
        return _round_int(_signed(x) * Fraction(2) ** self.F, self.below)

    def _set(self, s: int):
        st = self.st
        st.seen(float(abs(Fraction(s) / Fraction(2) ** self.F)))
        st.width = max(st.width, _width(s))
        lim = 1 << (self.W - 1)
        if self.unbounded or -lim <= s < lim:
            self.v = s
            return
        st.acc_events += 1
        if self.ovf == "wrap":
            s &= (1 << self.W) - 1
            self.v = s - (1 << self.W) if s >= lim else s
        elif self.ovf == "saturate":
            self.v = -lim if s < 0 else lim - 1
        else:
            raise OverflowValueError("accumulator overflow with overflow='error'")

    def mac(self, p):
        self._set(self.v + self.grid(p))

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
        self.c = _code_of(fmt, 0, Fraction(0))

    def value(self):
        return _val(self.c, self.fmt)

    def _write(self, code, ovf):
        self.c = code
        if ovf:
            self.st.acc_events += 1
        a = _absf(self.value())
        if a == a:
            self.st.seen(a)

    def to_fmt(self, p):
        """p rounded into the register format: (V, overflowed)."""
        if p[0] == "fin":
            code, ovf = round_fraction_to_float(p[1], p[2], self.fmt, self.mode, self.ovf)
        else:
            code, ovf = _special_code(self.fmt, p == NAN, p[1] if p != NAN else 0, self.ovf), False
        return _val(code, self.fmt), ovf

    def mac(self, p):
        ovf0 = False
        if not self.fused and p[0] == "fin":
            p, ovf0 = self.to_fmt(p)
        code, ovf = _float_sum([self.value(), p], self.fmt, self.mode, self.ovf)
        self._write(code, ovf or ovf0)

    def load_sum(self, terms):
        code, ovf = _float_sum(terms, self.fmt, self.mode, self.ovf)
        self._write(code, ovf)

    def code(self) -> int:
        return self.c


def _multi_group(reg: _FloatReg, acc: FusedMultiTermAccumulator, prods):
    """One fused multi-term group: prods = [(V, aexp)], c = the register."""
    c = reg.value()
    terms = [v for v, _ in prods] + [c]
    if any(t == NAN for t in terms) or {t[1] for t in terms if t[0] == "inf"} == {0, 1}:
        reg._write(_special_code(reg.fmt, True, 0, reg.ovf), False)
        return
    infs = [t[1] for t in terms if t[0] == "inf"]
    if infs:
        reg._write(_special_code(reg.fmt, False, infs[0], reg.ovf), False)
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
        zs = _zero_sign(terms, any(t[2] != 0 for t in terms), reg.mode)
        reg._write(_code_of(reg.fmt, zs, Fraction(0)), False)
        return
    code, ovf = round_fraction_to_float(1 if S < 0 else 0, abs(S), reg.fmt, reg.mode, reg.ovf)
    reg._write(code, ovf)


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
def _encode_num(v, fmt, mode: str, overflow: str):
    """(decoded V, aexp, overflowed) of value v encoded into a scalar format."""
    if fmt.kind == "float":
        if v[0] == "fin":
            code, ovf = round_fraction_to_float(v[1], v[2], fmt, mode, overflow)
        else:
            code, ovf = _special_code(fmt, v == NAN, v[1] if v != NAN else 0, overflow), False
        val, ae = decode_operand(code, fmt)
        return val, ae, ovf
    lo, hi = fmt.min_int, fmt.max_int
    if v == NAN or (v[0] == "inf" and overflow == "error"):
        raise NaNInputError(f"NaN/Inf cannot be encoded into {fmt.name}")
    if v[0] == "inf":
        k, ovf = (lo if v[1] else hi), False
    else:
        k = _round_int(_signed(v) * Fraction(2) ** fmt.frac_bits, mode)
        ovf = not lo <= k <= hi
        if ovf:
            if overflow == "wrap":
                k &= (1 << fmt.bits) - 1
                if fmt.signed and k >= 1 << (fmt.bits - 1):
                    k -= 1 << fmt.bits
            elif overflow == "saturate":
                k = lo if k < lo else hi
            else:
                raise OverflowValueError(f"value overflows {fmt.name} with overflow='error'")
    val = _fin(Fraction(k) / Fraction(2) ** fmt.frac_bits)
    return val, ((abs(k).bit_length() - 1 - fmt.frac_bits) if k else None), ovf


class _Run:
    def __init__(self, mac: MacUnit, a_vals, b_vals, unbounded: bool):
        self.mac, self.a, self.b, self.unbounded = mac, a_vals, b_vals, unbounded
        self.st = _Stats()

    def reg(self, acc):
        return _make_reg(acc, self.mac, self.st, self.unbounded)

    def product(self, k):
        (va, ea), (vb, eb) = self.a[k], self.b[k]
        if va == NAN or vb == NAN:
            p = NAN
        elif va[0] == "inf" or vb[0] == "inf":
            other = vb if va[0] == "inf" else va
            p = NAN if (other[0] == "fin" and other[2] == 0) else ("inf", va[1] ^ vb[1])
        else:
            p = ("fin", va[1] ^ vb[1], va[2] * vb[2])
        ae = (ea + eb) if (ea is not None and eb is not None) else None
        m = self.mac
        if m.product is not None:
            p, ae, _ = _encode_num(p, m.product, m.product_rounding, m.product_overflow)
        return p, ae

    def seq(self, reg, acc, k0, k1):
        if isinstance(acc, FusedMultiTermAccumulator):
            for g0 in range(k0, k1, acc.fan_in):
                _multi_group(reg, acc, [self.product(k) for k in range(g0, min(g0 + acc.fan_in, k1))])
            return
        for k in range(k0, k1):
            reg.mac(self.product(k)[0])

    def tree(self, reg, k0, k1):
        acc, f = self.mac.accumulator, self.mac.order.fan_in
        items = []
        for k in range(k0, k1):
            p = self.product(k)[0]
            if isinstance(reg, _FixedReg):
                items.append(_fin(Fraction(reg.grid(p)) / Fraction(2) ** reg.F))
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
        val, _, ovf = _encode_num(v, t.psum_format, t.psum_rounding, ov)
        self.st.psum_events += int(ovf)
        return val

    def run(self, bias):
        m, K = self.mac, len(self.a)
        t = m.tiling
        T = t.T if t is not None else max(K, 1)
        if t is not None and t.mode == "separate":
            fin = self.reg(m.psum_adder)
            if bias is not None and m.bias == "init":
                fin.load_sum([bias])
            for t0 in range(0, K, T):
                r = self.reg(m.top_accumulator)
                self.reduce(r, t0, min(t0 + T, K))
                fin.load_sum([fin.value(), self.psum(r.value())])
        else:
            fin = self.reg(m.top_accumulator)
            if bias is not None and m.bias == "init":
                fin.load_sum([bias])
            for t0 in range(0, K, T):
                self.reduce(fin, t0, min(t0 + T, K))
                if t is not None and t0 + T < K:
                    fin.load_sum([self.psum(fin.value())])
        if bias is not None and m.bias == "final":
            fin.load_sum([fin.value(), bias])
        return fin


@dataclass
class MacRefResult:
    """One output of the reference: register code, exact value (Fraction, or
    float nan/inf; raw integer for int/fixed registers), statistics."""

    code: int
    value: object
    acc_events: int
    psum_events: int
    max_abs: float
    width_needed: int | None


def _bias_value(bias, mac: MacUnit):
    if bias is None:
        return None
    acc = mac.result_accumulator if mac.bias == "final" else (mac.psum_adder or mac.top_accumulator)
    if isinstance(acc, IntAccumulator):
        return _fin(Fraction(int(bias)) / Fraction(2) ** mac.product_frac_bits)
    if isinstance(acc, FixedAccumulator):
        return _fin(Fraction(int(bias)) / Fraction(2) ** acc.frac_bits)
    x = float(bias)
    if x != x:
        return NAN
    neg = 1 if math.copysign(1.0, x) < 0 else 0
    if x in (float("inf"), float("-inf")):
        return ("inf", neg)
    return _fin(Fraction(x), neg)


def mac_dot(a_codes, b_codes, mac: MacUnit, bias=None, a_zero_point: int = 0,
            b_zero_point: int = 0) -> MacRefResult:
    """One dot product of code sequences through the MAC unit, exactly."""
    if len(a_codes) != len(b_codes):
        raise ValueError(f"a_codes and b_codes lengths differ: {len(a_codes)} vs {len(b_codes)}")
    av = [decode_operand(c, mac.a_fmt, a_zero_point) for c in a_codes]
    bv = [decode_operand(c, mac.b_fmt, b_zero_point) for c in b_codes]
    bval = _bias_value(bias, mac)
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
    if isinstance(fin, _FixedReg):
        value = fin.v
    else:
        v = fin.value()
        value = float("nan") if v == NAN else (
            (float("-inf") if v[1] else float("inf")) if v[0] == "inf" else _signed(v))
    return MacRefResult(fin.code(), value, run.st.acc_events, run.st.psum_events,
                        run.st.max_abs, width)


def mac_matmul(a_codes, b_codes, mac: MacUnit, bias=None, a_zero_point=0, b_zero_point=0,
               n: int | None = None):
    """[[MacRefResult]] for 2-D code lists a [M][K], b [K][N]; zero points
    scalar or per row (a) / per column (b); bias None, scalar or [N]; n: N
    (needed when K = 0)."""
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
            row.append(mac_dot(list(a_codes[i]), col, mac, bj, pick(a_zero_point, i),
                               pick(b_zero_point, j)))
        out.append(row)
    return out
