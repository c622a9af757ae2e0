/* hw_fixed.c -- float64 / float32 to integer and fixed-point codes, and back. */
#include <math.h>
#include "hw_internal.h"

typedef struct fixed_spec {
    int32_t bits, frac_bits, is_signed;
    uint64_t mask;     /* 2^bits - 1 */
    uint64_t max_pos;  /* largest positive magnitude */
    uint64_t max_neg;  /* largest negative magnitude (0 if unsigned) */
} fixed_spec;

/* Round |x| * 2^frac_bits to an integer magnitude.  *huge is set when the
 * magnitude does not fit in 64 bits (then the return value is the low 64
 * bits of the exact integer, which is all that wrap-around needs). */
static uint64_t round_magnitude(int sign, uint64_t sig, int32_t e2, const fixed_spec *fs,
                                const hw_opts *o, uint32_t rnd, int *huge, int *inexact)
{
    int32_t sh = e2 + fs->frac_bits; /* value = sig * 2^sh in LSB units */
    int msb = hwi_msb64(sig);
    uint64_t K, rem;
    int s, g, t;
    *huge = 0;
    *inexact = 0;
    if (sh >= 0) {
        if (msb + sh >= 64) *huge = 1;
        return sh >= 64 ? 0 : sig << sh;
    }
    s = -sh;
    K = s >= 64 ? 0 : sig >> s;
    rem = s >= 64 ? sig : sig & ((1ull << s) - 1);
    *inexact = rem != 0;
    if (!rem) return K;
    if (o->rounding == HW_ROUND_SR) {
        int r = o->sr_bits;
        uint64_t top = s >= r ? (s - r >= 64 ? 0 : rem >> (s - r)) : rem << (r - s);
        return K + ((top + (uint64_t)rnd) >> r);
    }
    g = s > 64 ? 0 : (int)((sig >> (s - 1)) & 1);
    t = s > 64 ? 1 : (rem & ((1ull << (s - 1)) - 1)) != 0;
    if (o->rounding == HW_ROUND_RTO) return K | 1;
    return K + (uint64_t)hwi_round_increment(o->rounding, sign, (int)(K & 1), g, t);
}

static uint64_t fixed_one(double x, const fixed_spec *fs, const hw_opts *o, uint32_t rnd,
                          uint32_t *flags)
{
    uint64_t u = hwi_f64_bits(x), sig = u & 0xFFFFFFFFFFFFFull, K;
    int sign = (int)(u >> 63), ex = (int)((u >> 52) & 0x7FF), huge, inexact, ovf;
    int32_t e2;
    if (ex == 0x7FF && sig) { /* NaN */
        if (o->nan_policy == HW_NAN_CODE) { *flags |= HW_FLAG_INVALID; return o->nan_code & fs->mask; }
        *flags |= HWI_ERR_NAN;
        return 0;
    }
    if (ex == 0x7FF) { /* Inf */
        if (o->overflow == HW_OVF_ERROR) { *flags |= HWI_ERR_OVERFLOW; return 0; }
        *flags |= HW_FLAG_INVALID;
        return sign ? ((0 - fs->max_neg) & fs->mask) : fs->max_pos;
    }
    if (ex == 0 && (sig == 0 || o->daz)) return 0;
    if (ex == 0) e2 = -1074;
    else { sig |= 1ull << 52; e2 = ex - 1075; }
    K = round_magnitude(sign, sig, e2, fs, o, rnd, &huge, &inexact);
    if (inexact) *flags |= HW_FLAG_INEXACT;
    ovf = huge || (sign ? K > fs->max_neg : K > fs->max_pos);
    if (ovf) {
        if (o->overflow == HW_OVF_WRAP) {
            *flags |= HW_FLAG_OVERFLOW;
            return (sign ? (0 - K) : K) & fs->mask;
        }
        if (o->overflow == HW_OVF_ERROR) { *flags |= HWI_ERR_OVERFLOW; return 0; }
        *flags |= HW_FLAG_OVERFLOW | HW_FLAG_INEXACT;
        K = sign ? fs->max_neg : fs->max_pos;
    }
    return (sign ? (0 - K) : K) & fs->mask;
}

int hw_encode_fixed(void *out, int code_size, const void *in, int in_kind,
                    size_t n, int32_t bits, int32_t frac_bits,
                    int32_t is_signed, const hw_opts *o, const uint32_t *rand,
                    uint8_t *elem_flags, hw_result *res)
{
    fixed_spec fs;
    size_t i;
    uint32_t all = 0, mask;
    int st;
    if (res) { res->flags = 0; res->err_index = -1; }
    if (!o || !res) return HW_E_SIZE;
    if (bits < 1 || bits > 64 || frac_bits < -1100 || frac_bits > 1100) return HW_E_FORMAT;
    if (!hwi_valid_code_size(code_size) || code_size * 8 < bits) return HW_E_SIZE;
    if (in_kind != HW_IN_F64 && in_kind != HW_IN_F32) return HW_E_SIZE;
    if (n && (!out || !in)) return HW_E_SIZE;
    if (o->rounding < HW_ROUND_RNE || o->rounding > HW_ROUND_SR) return HW_E_MODE;
    if (o->overflow != HW_OVF_SATURATE && o->overflow != HW_OVF_WRAP &&
        o->overflow != HW_OVF_ERROR) return HW_E_MODE;
    if (o->rounding == HW_ROUND_SR && (o->sr_bits < 1 || o->sr_bits > 32)) return HW_E_MODE;
    if (o->rounding == HW_ROUND_SR && o->sr_external && !rand && n) return HW_E_SIZE;
    fs.bits = bits; fs.frac_bits = frac_bits; fs.is_signed = is_signed ? 1 : 0;
    fs.mask = bits == 64 ? ~0ull : (1ull << bits) - 1;
    fs.max_pos = is_signed ? (fs.mask >> 1) : fs.mask;
    fs.max_neg = is_signed ? (fs.mask >> 1) + 1 : 0;
    mask = hwi_sr_mask(o);
    for (i = 0; i < n; i++) {
        uint32_t fl = 0;
        double x = hwi_load_input(in, in_kind, i, o->daz);
        uint64_t code = fixed_one(x, &fs, o, hwi_sr_word(o, rand, i, mask), &fl);
        if ((st = hwi_put_elem(out, code_size, i, code, fl, elem_flags, &all, res)) != HW_OK)
            return st;
    }
    res->flags = all;
    return HW_OK;
}

int hw_decode_fixed(double *out, const void *in, int code_size, size_t n,
                    int32_t bits, int32_t frac_bits, int32_t is_signed,
                    hw_result *res)
{
    size_t i;
    uint64_t mask;
    if (res) { res->flags = 0; res->err_index = -1; }
    if (!res || !hwi_valid_code_size(code_size) || bits < 1 || bits > 64) return HW_E_SIZE;
    if (frac_bits < -1100 || frac_bits > 1100) return HW_E_FORMAT;
    if (n && (!out || !in)) return HW_E_SIZE;
    mask = bits == 64 ? ~0ull : (1ull << bits) - 1;
    for (i = 0; i < n; i++) {
        uint64_t c = hwi_load_code(in, code_size, i);
        double v;
        if (c > mask) { res->err_index = (int64_t)i; return HW_E_CODE; }
        if (is_signed && ((c >> (bits - 1)) & 1)) {
            uint64_t mag = (0 - c) & mask; /* two's complement magnitude */
            v = -(double)mag;
        } else {
            v = (double)c;
        }
        out[i] = ldexp(v, -frac_bits);
    }
    return HW_OK;
}
