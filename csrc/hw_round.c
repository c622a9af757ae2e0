/* hw_round.c -- hwi_round_pack(): the only place that rounds a value into a
 * floating-point format, detects overflow / underflow and raises flags. */
#include "hw_internal.h"

uint64_t hwi_overflow_code(int sign, const hw_format *f, const hw_opts *o,
                           uint32_t *flags)
{
    uint64_t s = sign ? f->sign_bit : 0;
    int toward_zero;
    *flags |= HW_FLAG_OVERFLOW | HW_FLAG_INEXACT;
    switch (o->overflow) {
    case HW_OVF_SATURATE:
    case HW_OVF_SATURATE_KEEP_INF:
        return s | f->max_code;
    case HW_OVF_SPECIAL:
        toward_zero = o->rounding == HW_ROUND_RTZ || o->rounding == HW_ROUND_RTO ||
                      (o->rounding == HW_ROUND_RDN && !sign) ||
                      (o->rounding == HW_ROUND_RUP && sign);
        if (toward_zero) return s | f->max_code;
        if (f->has_inf) return sign ? (f->inf_code | f->sign_bit) : f->inf_code;
        if (f->has_nan) {
            /* ieee / fn NaNs carry a sign; fnuz / p3109 / e8m0 have one NaN */
            if (f->specials == HW_SPECIALS_FN) return s | f->nan_code;
            return f->nan_code;
        }
        *flags |= HWI_ERR_OVERFLOW; /* validated away in Python; be safe */
        return s | f->max_code;
    default: /* HW_OVF_ERROR */
        *flags |= HWI_ERR_OVERFLOW;
        return s | f->max_code;
    }
}

/* Is (sig + frac) * 2^e2 with msb position `msb` tiny after rounding, i.e.
 * below 2^emin once rounded with unbounded exponent range at precision p?
 * Only called when the exact value is below 2^emin. */
static int tiny_after(int sign, uint64_t sig, int32_t e2, int sticky_in, int msb,
                      const hw_format *f, const hw_opts *o, uint32_t rnd)
{
    int32_t E = msb + e2;
    int s, g, t, lsb, inc;
    uint64_t K;
    if (E < f->emin - 1) return 1;
    /* E == emin - 1: rounding at precision p may carry up to 2^emin */
    s = (E - f->man_bits) - e2;
    if (s <= 0) return 1; /* exact at this precision: stays below 2^emin */
    if (s >= 64) return 1;
    K = sig >> s;
    if (o->rounding == HW_ROUND_SR) {
        int r = o->sr_bits;
        uint64_t bits = s >= r ? (sig >> (s - r)) & ((1ull << r) - 1)
                               : (sig << (r - s)) & ((1ull << r) - 1);
        inc = (bits + (uint64_t)rnd) >> r;
    } else if (o->rounding == HW_ROUND_RTO) {
        inc = 0;
    } else {
        g = (int)((sig >> (s - 1)) & 1);
        t = ((sig & ((1ull << (s - 1)) - 1)) != 0) | sticky_in;
        lsb = (int)(K & 1);
        inc = hwi_round_increment(o->rounding, sign, lsb, g, t);
    }
    K += (uint64_t)inc;
    return (K >> (f->man_bits + 1)) == 0;
}

uint64_t hwi_round_pack(int sign, uint64_t sig, int32_t e2, int sticky_in,
                        const hw_format *f, const hw_opts *o, uint32_t rnd,
                        uint32_t *flags)
{
    const int M = f->man_bits;
    int msb, s, inexact = 0, tiny = 0;
    int32_t E, q, Ek;
    uint64_t K, code;

    if (sig == 0) return hwi_zero_code(sign, f);
    msb = hwi_msb64(sig);
    if (sticky_in && msb < 62) {
        /* left-justify so that the sticky fraction lies below the guard bit */
        sig <<= 62 - msb;
        e2 -= 62 - msb;
        msb = 62;
    }
    E = msb + e2; /* floor(log2(|x|)) */
    if (E >= f->emin) q = E - M;
    else q = f->subnormals ? f->emin - M : f->emin;
    if (E < f->emin) {
        tiny = o->tininess == HW_TININESS_BEFORE
                   ? 1
                   : tiny_after(sign, sig, e2, sticky_in, msb, f, o, rnd);
    }
    s = q - e2;
    if (s <= 0) {
        K = sig << (-s); /* exact: -s <= M - msb, no overflow */
    } else {
        uint64_t rem;
        int g, t;
        K = s >= 64 ? 0 : sig >> s;
        rem = s >= 64 ? sig : sig & ((1ull << s) - 1);
        inexact = (rem != 0) | sticky_in;
        if (o->rounding == HW_ROUND_SR) {
            int r = o->sr_bits;
            uint64_t top;
            if (s >= r) top = (s - r >= 64) ? 0 : (rem >> (s - r));
            else top = rem << (r - s);
            K += (top + (uint64_t)rnd) >> r;
        } else {
            g = s > 64 ? 0 : (int)((sig >> (s - 1)) & 1);
            t = (s > 64 ? rem != 0 : (rem & ((1ull << (s - 1)) - 1)) != 0) | sticky_in;
            if (o->rounding == HW_ROUND_RTO) {
                K |= (uint64_t)(g | t);
            } else {
                K += (uint64_t)hwi_round_increment(o->rounding, sign, (int)(K & 1), g, t);
            }
        }
    }
    if (inexact) *flags |= HW_FLAG_INEXACT;
    if (tiny && inexact) *flags |= HW_FLAG_UNDERFLOW;
    if (tiny && o->ftz && f->has_zero) {
        *flags |= HW_FLAG_UNDERFLOW | HW_FLAG_INEXACT;
        return hwi_zero_code(sign, f);
    }
    if (K == 0) {
        if (!f->has_zero) return 0; /* no zero (e8m0): the smallest value */
        return hwi_zero_code(sign, f);
    }
    /* normalise: value = K * 2^q, K <= 2^(M+1) */
    if (K >> (M + 1)) { K >>= 1; q += 1; }
    msb = hwi_msb64(K);
    Ek = q + msb;
    if (Ek > f->emax) return hwi_overflow_code(sign, f, o, flags);
    if (Ek >= f->emin) {
        code = ((uint64_t)(Ek + f->bias) << M) | ((K << (M - msb)) & ((1ull << M) - 1));
        if (code > f->max_code) return hwi_overflow_code(sign, f, o, flags);
    } else {
        code = K; /* subnormal: q == emin - M */
    }
    return (sign ? f->sign_bit : 0) | code;
}

/* Code for a NaN (nan) or an infinity of the given sign in an accumulator or
 * product format, by the overflow policy (the MAC engine's specials). */
uint64_t hwi_float_special(int nan, int sign, const hw_format *f, const hw_opts *o,
                           uint32_t *flags)
{
    uint64_t s = sign ? f->sign_bit : 0;
    if (nan) {
        if (f->has_nan) return f->nan_code;
        *flags |= HWI_ERR_NAN;
        return 0;
    }
    switch (o->overflow) {
    case HW_OVF_SATURATE:
        *flags |= HW_FLAG_INVALID;
        return s | f->max_code;
    case HW_OVF_SATURATE_KEEP_INF:
        if (f->has_inf) return sign ? (f->inf_code | f->sign_bit) : f->inf_code;
        *flags |= HW_FLAG_INVALID;
        return s | f->max_code;
    case HW_OVF_SPECIAL:
        if (f->has_inf) return sign ? (f->inf_code | f->sign_bit) : f->inf_code;
        *flags |= HW_FLAG_INVALID;
        if (f->has_nan) return f->specials == HW_SPECIALS_FN ? (s | f->nan_code) : f->nan_code;
        *flags |= HWI_ERR_NAN;
        return 0;
    default:
        *flags |= HWI_ERR_OVERFLOW;
        return 0;
    }
}
