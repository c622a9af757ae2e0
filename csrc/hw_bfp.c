/* hw_bfp.c -- classic block floating point (hw_bfp_quantize).
 *
 * Per block: shared exponent E = max floor(log2|x|) over the block (an Inf
 * counts as +infinity, a block of zeros as -infinity), clamped to
 * [-bias, bias + 1] with bias = 2^(exp_bits-1) - 1 and stored biased.
 * Element: k = |x| * 2^(man_bits - 1 - E) rounded to an integer with the
 * mode (value = +-k * 2^(E - man_bits + 1)), saturating at 2^man_bits - 1
 * (and -2^man_bits for two's complement).  Codes: sign-magnitude
 * (sign << man_bits | k, the sign kept for k = 0) or the (man_bits + 1)-bit
 * two's complement pattern of +-k.  NaN: HW_E_NAN with err_index.  With
 * caller exponents (exps_in) those are used instead (NaN is still an error). */
#include "hw_block_util.h"

typedef struct bfp_spec {
    int32_t man_bits, twos, emin, emax;
    uint64_t max_pos, max_neg, mask;
} bfp_spec;

/* Shared exponent of one block, or HW_E_NAN with *bad = offending index. */
static int bfp_block_exp(const void *in, int in_kind, size_t start, size_t len,
                         const bfp_spec *bs, int32_t *E_out, size_t *bad)
{
    int32_t emax_in = INT32_MIN;
    size_t j;
    for (j = 0; j < len; j++) {
        int sign, cls;
        uint64_t sig;
        int32_t e2, E;
        cls = hwi_split(hwi_load_in(in, in_kind, start + j), &sign, &sig, &e2);
        if (cls == HWI_NAN) { *bad = start + j; return HW_E_NAN; }
        if (cls == HWI_INF) { emax_in = INT32_MAX; continue; }
        if (cls != HWI_FINITE) continue;
        E = hwi_msb64(sig) + e2;
        if (E > emax_in) emax_in = E;
    }
    if (emax_in > bs->emax) emax_in = bs->emax;
    if (emax_in < bs->emin) emax_in = bs->emin;
    *E_out = emax_in;
    return HW_OK;
}

static uint64_t bfp_elem_code(double v, int32_t E, const bfp_spec *bs, const hw_opts *o,
                              uint32_t rnd, uint32_t *flags)
{
    int sign, cls, inexact = 0;
    uint64_t sig = 0, k = 0, lim;
    int32_t e2 = 0;
    cls = hwi_split(v, &sign, &sig, &e2);
    lim = sign ? bs->max_neg : bs->max_pos;
    if (cls == HWI_INF) {
        k = lim;
        *flags |= HW_FLAG_INVALID;
    } else if (cls == HWI_FINITE) {
        k = hwi_round_int_mag(sign, sig, e2 + bs->man_bits - 1 - E, o, rnd, &inexact);
        if (inexact) *flags |= HW_FLAG_INEXACT;
        if (k > lim) {
            k = lim;
            *flags |= HW_FLAG_OVERFLOW | HW_FLAG_INEXACT;
        }
    }
    if (bs->twos) return (sign ? 0 - k : k) & bs->mask;
    return ((uint64_t)sign << bs->man_bits) | k;
}

int hw_bfp_quantize(void *elem_out, int elem_size, uint16_t *exps, int32_t exps_in,
                    const void *in, int in_kind, size_t nrows, size_t ncols, size_t block_size,
                    int32_t man_bits, int32_t exp_bits, int32_t twos_complement,
                    const hw_opts *o, hw_result *res)
{
    bfp_spec bs;
    size_t r, b, j, nblocks, bad = 0;
    uint32_t all = 0;
    int32_t bias;
    int st;
    if (res) { res->flags = 0; res->err_index = -1; }
    if (!res || !o) return HW_E_SIZE;
    if ((st = hwi_block_check_opts(o)) != HW_OK) return st;
    if (in_kind != HW_IN_F64 && in_kind != HW_IN_F32) return HW_E_SIZE;
    if (man_bits < 1 || man_bits > 31 || exp_bits < 1 || exp_bits > 10) return HW_E_FORMAT;
    if (!hwi_valid_code_size(elem_size) || elem_size * 8 < man_bits + 1 || block_size == 0)
        return HW_E_SIZE;
    if (nrows && ncols && (!elem_out || !exps || !in)) return HW_E_SIZE;
    bias = (1 << (exp_bits - 1)) - 1;
    bs.man_bits = man_bits;
    bs.twos = twos_complement ? 1 : 0;
    bs.emin = -bias;
    bs.emax = bias + 1;
    bs.max_pos = (1ull << man_bits) - 1;
    bs.max_neg = bs.twos ? (1ull << man_bits) : bs.max_pos;
    bs.mask = (1ull << (man_bits + 1)) - 1;
    nblocks = (ncols + block_size - 1) / block_size;
    for (r = 0; r < nrows; r++) {
        for (b = 0; b < nblocks; b++) {
            size_t start = r * ncols + b * block_size;
            size_t len = ncols - b * block_size < block_size ? ncols - b * block_size : block_size;
            int32_t E = 0;
            if (bfp_block_exp(in, in_kind, start, len, &bs, &E, &bad) != HW_OK) {
                res->flags = all;
                res->err_index = (int64_t)bad;
                return HW_E_NAN;
            }
            if (exps_in) {
                if (exps[r * nblocks + b] > 2 * bias + 1) {
                    res->err_index = (int64_t)(r * nblocks + b);
                    return HW_E_CODE;
                }
                E = (int32_t)exps[r * nblocks + b] - bias;
            } else {
                exps[r * nblocks + b] = (uint16_t)(E + bias);
            }
            for (j = 0; j < len; j++) {
                uint32_t fl = 0;
                uint64_t code = bfp_elem_code(hwi_load_in(in, in_kind, start + j), E, &bs, o,
                                              hwi_block_rand(o, start + j), &fl);
                all |= fl;
                hwi_store_code(elem_out, elem_size, start + j, code);
            }
        }
    }
    res->flags = all;
    return HW_OK;
}
