/* hw_block.c -- OCP MX block quantization (hw_mx_quantize).
 *
 * Per block: shared_exp = floor(log2(amax)) - emax_elem, computed exactly
 * from the exponents of the inputs; > 127 (or a NaN / Inf in the block)
 * gives the NaN scale 0xFF with element codes 0; < -127 clamps to -127; a
 * block of zeros gets -127.  Elements: V / 2^shared_exp (exact: only the
 * exponent changes) rounded once into the element format, saturating.  With
 * caller scales (scales_in), a NaN element of a non-NaN block is an error
 * and +-Inf saturates.
 *
 * hw_mx_quantize_general is the block-by-block, element-by-element loop;
 * hw_mx_quantize (hw_dispatch.c) runs hw_mx_quantize_fast (hw_mx_fast.c) first,
 * which reuses hwi_mx_elem_code / hwi_mx_block_elems for the elements and
 * blocks it cannot settle. */
#include "hw_block_util.h"

/* Shared exponent of one block: 1 and *se on success, 0 for the NaN scale. */
static int mx_block_exp(const void *in, int in_kind, size_t start, size_t len,
                        int32_t emax_elem, int32_t *se)
{
    int32_t emax_in = INT32_MIN;
    size_t j;
    for (j = 0; j < len; j++) {
        int sign, cls;
        uint64_t sig;
        int32_t e2, E;
        cls = hwi_split(hwi_load_in(in, in_kind, start + j), &sign, &sig, &e2);
        if (cls == HWI_NAN || cls == HWI_INF) return 0;
        if (cls != HWI_FINITE) continue;
        E = hwi_msb64(sig) + e2;
        if (E > emax_in) emax_in = E;
    }
    if (emax_in == INT32_MIN) { *se = -127; return 1; }
    *se = emax_in - emax_elem;
    if (*se > 127) return 0;
    if (*se < -127) *se = -127;
    return 1;
}

uint64_t hwi_mx_elem_code(double v, int32_t se, const hwi_mx_elem *el, const hw_opts *o,
                          uint32_t rnd, uint32_t *flags)
{
    int sign, cls, inexact;
    uint64_t sig = 0, k;
    int32_t e2 = 0;
    cls = hwi_split(v, &sign, &sig, &e2);
    if (cls == HWI_NAN) { *flags |= HWI_ERR_NAN; return 0; }
    if (cls == HWI_INF) { /* only with caller scales: saturate */
        *flags |= HW_FLAG_INVALID;
        if (el->f) return (sign ? el->f->sign_bit : 0) | el->f->max_code;
        k = sign ? 0 - el->int_negmax : el->int_max;
        return el->int_bits >= 64 ? k : k & ((1ull << el->int_bits) - 1);
    }
    if (el->f) {
        if (cls == HWI_ZERO) return hwi_zero_code(sign, el->f);
        return hwi_round_pack(sign, sig, e2 - se, 0, el->f, o, rnd, flags);
    }
    if (cls == HWI_ZERO) return 0;
    k = hwi_round_int_mag(sign, sig, e2 - se + el->int_frac, o, rnd, &inexact);
    if (inexact) *flags |= HW_FLAG_INEXACT;
    if (k > (sign ? el->int_negmax : el->int_max)) {
        k = sign ? el->int_negmax : el->int_max;
        *flags |= HW_FLAG_OVERFLOW | HW_FLAG_INEXACT;
    }
    if (sign) k = 0 - k;
    return el->int_bits >= 64 ? k : k & ((1ull << el->int_bits) - 1);
}

int hwi_mx_block_elems(void *elem_out, int elem_size, const void *in, int in_kind,
                       size_t start, size_t len, int ok, int32_t se, const hwi_mx_elem *el,
                       const hw_opts *os, uint32_t *all, int64_t *err_index)
{
    size_t j;
    for (j = 0; j < len; j++) {
        uint64_t code = 0;
        if (ok) {
            uint32_t fl = 0;
            code = hwi_mx_elem_code(hwi_load_in(in, in_kind, start + j), se, el, os,
                                    hwi_block_rand(os, start + j), &fl);
            if (fl & HWI_ERR_NAN) {
                *err_index = (int64_t)(start + j);
                return HW_E_NAN;
            }
            *all |= fl;
        }
        hwi_store_code(elem_out, elem_size, start + j, code);
    }
    return HW_OK;
}

int hwi_mx_setup(int elem_size, const hw_format *elem, int32_t emax_elem, int32_t int_bits,
                 int32_t int_frac_bits, int64_t int_min, const hw_opts *o, hwi_mx_elem *el,
                 hw_opts *os)
{
    memset(el, 0, sizeof *el);
    el->f = elem;
    el->emax_elem = emax_elem;
    if (emax_elem < -1100 || emax_elem > 1100) return HW_E_FORMAT;
    if (elem) {
        if (elem_size * 8 < elem->bits) return HW_E_SIZE;
    } else {
        if (int_bits < 2 || int_bits > 64 || elem_size * 8 < int_bits) return HW_E_SIZE;
        if (int_frac_bits < -64 || int_frac_bits > 64) return HW_E_FORMAT;
        el->int_bits = int_bits;
        el->int_frac = int_frac_bits;
        el->int_max = (int_bits >= 64 ? ~0ull : (1ull << int_bits) - 1) >> 1;
        if (int_min > 0 || (uint64_t)(-(int_min + 1)) > el->int_max) return HW_E_FORMAT;
        el->int_negmax = (uint64_t)(-(int_min + 1)) + 1;
    }
    *os = *o;
    os->overflow = HW_OVF_SATURATE; /* MX elements saturate at the element max */
    os->ftz = 0;
    os->daz = 0;
    return HW_OK;
}

int hw_mx_quantize_general(void *elem_out, int elem_size, uint8_t *scales, int32_t scales_in,
                           const void *in, int in_kind, size_t nrows, size_t ncols,
                           size_t block_size, const hw_format *elem, int32_t emax_elem,
                           int32_t int_bits, int32_t int_frac_bits, int64_t int_min,
                           const hw_opts *o, hw_result *res)
{
    hw_opts os;
    hwi_mx_elem el;
    size_t r, b, nblocks;
    uint32_t all = 0;
    int st;
    if (res) { res->flags = 0; res->err_index = -1; }
    if (!res || !o) return HW_E_SIZE;
    if ((st = hwi_block_check_opts(o)) != HW_OK) return st;
    if (in_kind != HW_IN_F64 && in_kind != HW_IN_F32) return HW_E_SIZE;
    if (!hwi_valid_code_size(elem_size) || block_size == 0) return HW_E_SIZE;
    if (nrows && ncols && (!elem_out || !scales || !in)) return HW_E_SIZE;
    st = hwi_mx_setup(elem_size, elem, emax_elem, int_bits, int_frac_bits, int_min, o, &el, &os);
    if (st != HW_OK) return st;
    nblocks = (ncols + block_size - 1) / block_size;
    for (r = 0; r < nrows; r++) {
        for (b = 0; b < nblocks; b++) {
            size_t start = r * ncols + b * block_size;
            size_t len = ncols - b * block_size < block_size ? ncols - b * block_size : block_size;
            int32_t se = 0;
            int ok;
            if (scales_in) {
                ok = scales[r * nblocks + b] != 0xFF;
                se = (int32_t)scales[r * nblocks + b] - 127;
            } else {
                ok = mx_block_exp(in, in_kind, start, len, emax_elem, &se);
                scales[r * nblocks + b] = ok ? (uint8_t)(se + 127) : 0xFF;
            }
            st = hwi_mx_block_elems(elem_out, elem_size, in, in_kind, start, len, ok, se, &el,
                                    &os, &all, &res->err_index);
            if (st != HW_OK) {
                res->flags = all;
                return st;
            }
        }
    }
    res->flags = all;
    return HW_OK;
}
