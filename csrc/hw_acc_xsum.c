/* hw_acc_xsum.c -- exact multi-term sums (tree nodes, chunk and psum
 * transfers, bias): a two's-complement integer of nl 64-bit limbs times 2^lo,
 * rounded once into a float format or onto a fixed-point grid. */
#include <math.h>
#include "hw_internal.h"

#define XS_MAX 128

void hwi_xsum_clear(hwi_xsum *s)
{
    memset(s->w, 0, (size_t)s->nl * sizeof(uint64_t));
    s->nan = s->pinf = s->ninf = s->snan = 0;
    s->nz = 0;     /* 1 once a nonzero finite term was added */
    s->zneg = 1;   /* every term so far negative */
    s->zpos = 1;   /* every term so far positive */
}

/* w += (-1)^sign * sig * 2^pos, modulo 2^(64 nl); pos >= 0 */
void hwi_limbs_add(uint64_t *w, int nl, int sign, uint64_t sig, int64_t pos)
{
    int64_t li = pos >> 6, i;
    int bi = (int)(pos & 63);
    uint64_t part[2], c = 0;
    part[0] = sig << bi;
    part[1] = bi ? sig >> (64 - bi) : 0;
    for (i = li; i < nl; i++) {
        uint64_t d = (i - li < 2) ? part[i - li] : 0, t, c1, c2;
        if (!sign) {
            t = w[i] + d;
            c1 = t < d;
            w[i] = t + c;
            c2 = w[i] < c;
        } else {
            c1 = w[i] < d;
            t = w[i] - d;
            c2 = t < c;
            w[i] = t - c;
        }
        c = c1 | c2;
        if (i > li && !c) break;
    }
}

static int fits(const hwi_xsum *s, int64_t pos, int bits)
{
    return pos >= 0 && pos + bits <= (int64_t)s->nl * 64 - 2;
}

int hwi_xsum_add_xval(hwi_xsum *s, const hw_xval *x)
{
    int64_t pos;
    s->zneg &= x->sign;
    s->zpos &= !x->sign;
    if (x->cls == HW_XV_NAN) { /* the first NaN and the first signalling NaN */
        if (!s->nan) s->nan1 = *x;
        if (!s->snan && hwi_is_snan(x)) { s->snan1 = *x; s->snan = 1; }
        s->nan = 1;
        return HW_OK;
    }
    if (x->cls == HW_XV_INF) {
        if (x->sign) s->ninf = 1; else s->pinf = 1;
        return HW_OK;
    }
    if (!x->sig) return HW_OK;
    s->nz = 1;
    pos = (int64_t)x->exp - s->lo;
    if (pos < 0) { /* drop trailing zero bits of the significand */
        int tz = __builtin_ctzll(x->sig);
        uint64_t sig = x->sig >> (tz < -pos ? tz : -pos);
        pos += tz < -pos ? tz : -pos;
        if (!fits(s, pos, hwi_msb64(sig) + 1)) return HW_E_SIZE;
        hwi_limbs_add(s->w, s->nl, x->sign, sig, pos);
        return HW_OK;
    }
    if (!fits(s, pos, hwi_msb64(x->sig) + 1)) return HW_E_SIZE;
    hwi_limbs_add(s->w, s->nl, x->sign, x->sig, pos);
    return HW_OK;
}

/* add a two's-complement integer of nl2 limbs times 2^e */
int hwi_xsum_add_limbs(hwi_xsum *s, const uint64_t *w, int nl2, int32_t e)
{
    uint64_t mag[XS_MAX];
    int neg = (int)(w[nl2 - 1] >> 63), i, top = -1;
    int64_t pos = (int64_t)e - s->lo;
    uint64_t c = 1;
    if (nl2 > XS_MAX) return HW_E_SIZE;
    for (i = 0; i < nl2; i++) {
        mag[i] = neg ? ~w[i] + c : w[i];
        if (neg) c = c && mag[i] == 0;
        if (mag[i]) top = i;
    }
    s->zneg &= neg;
    s->zpos &= !neg;
    if (top < 0) return HW_OK;
    s->nz = 1;
    if (!fits(s, pos, top * 64 + hwi_msb64(mag[top]) + 1)) return HW_E_SIZE;
    for (i = 0; i <= top; i++)
        if (mag[i]) hwi_limbs_add(s->w, s->nl, neg, mag[i], pos + 64 * (int64_t)i);
    return HW_OK;
}

int hwi_xsum_add_xsum(hwi_xsum *s, const hwi_xsum *t)
{
    int i;
    uint64_t c = 0;
    if (t->lo != s->lo || t->nl != s->nl) return HW_E_SIZE;
    if (!s->nan && t->nan) s->nan1 = t->nan1;
    if (!s->snan && t->snan) s->snan1 = t->snan1;
    s->nan |= t->nan; s->snan |= t->snan; s->pinf |= t->pinf; s->ninf |= t->ninf;
    s->nz |= t->nz; s->zneg &= t->zneg; s->zpos &= t->zpos;
    for (i = 0; i < s->nl; i++) {
        uint64_t a = s->w[i] + t->w[i];
        uint64_t c1 = a < t->w[i];
        s->w[i] = a + c;
        c = c1 | (s->w[i] < c);
    }
    return HW_OK;
}

int hwi_xsum_sign(const hwi_xsum *s)
{
    int i;
    if (s->w[s->nl - 1] >> 63) return -1;
    for (i = 0; i < s->nl; i++)
        if (s->w[i]) return 1;
    return 0;
}

/* magnitude of s into mag[]; returns the sign bit */
static int magnitude(const hwi_xsum *s, uint64_t *mag)
{
    int neg = (int)(s->w[s->nl - 1] >> 63), i;
    uint64_t c = 1;
    for (i = 0; i < s->nl; i++) {
        mag[i] = neg ? ~s->w[i] + c : s->w[i];
        if (neg) c = c && mag[i] == 0;
    }
    return neg;
}

static int64_t top_bit(const uint64_t *mag, int nl)
{
    int i;
    for (i = nl - 1; i >= 0; i--)
        if (mag[i]) return 64 * (int64_t)i + hwi_msb64(mag[i]);
    return -1;
}

static uint64_t get_bits64(const uint64_t *mag, int nl, int64_t pos) /* bits [pos, pos+64) */
{
    int64_t li;
    int bi;
    uint64_t lo, hi;
    if (pos <= -64) return 0;
    if (pos < 0) return get_bits64(mag, nl, 0) << (-pos);
    li = pos >> 6;
    bi = (int)(pos & 63);
    lo = li < nl ? mag[li] >> bi : 0;
    hi = (bi && li + 1 < nl) ? mag[li + 1] << (64 - bi) : 0;
    return lo | hi;
}

static int any_below(const uint64_t *mag, int64_t pos) /* any bit below pos */
{
    int64_t li, i;
    if (pos <= 0) return 0;
    li = pos >> 6;
    for (i = 0; i < li; i++)
        if (mag[i]) return 1;
    return (pos & 63) ? (mag[li] & ((1ull << (pos & 63)) - 1)) != 0 : 0;
}

/* Sign of an exact zero sum (IEEE 754 6.3 for n terms): zeros of one sign
 * keep it; mixed zeros or cancelling nonzero terms give +0, -0 under rdn. */
static int zero_sign(const hwi_xsum *s, int rounding)
{
    if (!s->nz && s->zneg) return 1;
    if (!s->nz && s->zpos) return 0;
    return rounding == HW_ROUND_RDN;
}

uint64_t hwi_xsum_round_float(const hwi_xsum *s, const hw_format *f, const hw_opts *o,
                              uint32_t *flags)
{
    uint64_t mag[XS_MAX], top;
    int64_t P, pos;
    int neg;
    if (s->nan) { /* the terms' order: the first NaN, or the first signalling one */
        if (s->snan) *flags |= HW_FLAG_INVALID;
        return hwi_float_nan(s->snan && (o->nan_rule & HW_NANR_PREFER_SNAN) ? &s->snan1
                             : &s->nan1, f, o, flags);
    }
    if (s->pinf && s->ninf) {
        *flags |= HW_FLAG_INVALID;
        return hwi_float_nan(NULL, f, o, flags);
    }
    if (s->pinf || s->ninf) return hwi_float_special(0, s->ninf, f, o, flags);
    neg = magnitude(s, mag);
    P = top_bit(mag, s->nl);
    if (P < 0) return hwi_zero_code(zero_sign(s, o->rounding), f);
    pos = P - 63;
    top = get_bits64(mag, s->nl, pos);
    return hwi_round_pack(neg, top, (int32_t)(s->lo + pos), any_below(mag, pos), f, o, 0,
                          flags);
}

double hwi_xsum_to_double(const hwi_xsum *s)
{
    uint64_t mag[XS_MAX], top;
    int64_t P, pos;
    int neg;
    double d;
    if (s->nan || (s->pinf && s->ninf)) return hwi_bits_f64(0x7FF8000000000000ull);
    if (s->pinf) return hwi_bits_f64(0x7FF0000000000000ull);
    if (s->ninf) return -hwi_bits_f64(0x7FF0000000000000ull);
    neg = magnitude(s, mag);
    P = top_bit(mag, s->nl);
    if (P < 0) return 0.0;
    pos = P - 63;
    top = get_bits64(mag, s->nl, pos) | (uint64_t)any_below(mag, pos);
    d = ldexp((double)top, (int)(s->lo + pos));
    return neg ? -d : d;
}

/* round(value / 2^lsb) with mode (HW_ROUND_RNE..RTO or HWI_BELOW_FLOOR) into
 * out[nlo] (two's complement).  *huge: the result needs more than 64*nlo - 2
 * bits (out then holds it modulo 2^(64 nlo)).  Specials: caller's job. */
int hwi_xsum_to_grid(const hwi_xsum *s, int32_t lsb, int mode, uint64_t *out, int nlo,
                     int *huge)
{
    uint64_t mag[XS_MAX], res[XS_MAX + 2];
    int neg = magnitude(s, mag), i, inc = 0;
    int64_t r = (int64_t)lsb - s->lo, P = top_bit(mag, s->nl);
    uint64_t c;
    if (nlo > XS_MAX) return HW_E_SIZE;
    *huge = 0;
    memset(res, 0, sizeof(uint64_t) * (size_t)nlo);
    if (P >= 0) {
        if (r <= 0) { /* exact: shift left by -r */
            if (P - r > 64 * (int64_t)nlo - 3) *huge = 1;
            for (i = 0; i < nlo; i++) res[i] = get_bits64(mag, s->nl, r + 64 * (int64_t)i);
        } else {
            int g = (int)((get_bits64(mag, s->nl, r - 1)) & 1);
            int t = any_below(mag, r - 1);
            for (i = 0; i < nlo; i++) res[i] = get_bits64(mag, s->nl, r + 64 * (int64_t)i);
            if (P - r > 64 * (int64_t)nlo - 3) *huge = 1;
            if (mode == HWI_BELOW_FLOOR) inc = neg && (g | t);
            else if (mode == HW_ROUND_RTO) res[0] |= (uint64_t)(g | t);
            else inc = hwi_round_increment(mode, neg, (int)(res[0] & 1), g, t);
            for (i = 0, c = (uint64_t)inc; i < nlo && c; i++) {
                res[i] += c;
                c = res[i] == 0;
            }
            if (top_bit(res, nlo) > 64 * (int64_t)nlo - 3) *huge = 1;
        }
    }
    c = 1;
    for (i = 0; i < nlo; i++) {
        out[i] = neg ? ~res[i] + c : res[i];
        if (neg) c = c && res[i] == 0;
    }
    return HW_OK;
}
