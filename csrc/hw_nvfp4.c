/* hw_nvfp4.c -- NVFP4 block quantization (hw_nvfp4_quantize).
 *
 * Block scale: s = amax / (6 * ts), 0 -> 1.0, clamped to [2^-9, 448], rounded
 * to E4M3 (ties to even).  Elements: V / (s * ts) rounded to E2M1 with the
 * element mode, saturating at 6.  HW_NVFP4_FLOAT32 does both divisions and
 * the products in IEEE binary32 (round to nearest even at every step, inputs
 * first rounded to binary32), as NVIDIA's ModelOpt reference does;
 * HW_NVFP4_EXACT divides exactly and rounds once.  A NaN or Inf in a block
 * gives the NaN scale 0x7F and element codes 0.  With caller scales
 * (scales_in), a NaN element of a non-NaN block is an error, +-Inf saturates.
 *
 * hw_nvfp4_quantize_general is the block-by-block loop; hw_nvfp4_quantize
 * (hw_dispatch.c) runs hw_nvfp4_quantize_fast (hw_nvfp4_fast.c, binary32
 * arithmetic only) first, which reuses the hwi_nvfp4_* helpers below. */
#include "hw_block_util.h"

#define E4M3_ONE 0x38u /* code of 1.0 in float8_e4m3fn */

double hwi_nvfp4_scale_value(uint64_t c)
{
    uint64_t e = c >> 3, m = c & 7;
    if (e == 0) return (double)m * 0x1p-9;
    return (double)(8 | m) * hwi_bits_f64((uint64_t)((int64_t)e - 10 + 1023) << 52);
}

/* drop the trailing zero bits of a nonzero significand */
static void strip_zeros(uint64_t *sig, int32_t *e)
{
    int z = __builtin_ctzll(*sig);
    *sig >>= z;
    *e += z;
}

/* E4M3 code of the (positive, finite) block-scale quotient sig * 2^e2 + sticky */
static uint64_t scale_code(uint64_t sig, int32_t e2, int sticky, const hw_format *e4m3,
                           const hw_opts *rne_sat)
{
    uint32_t fl = 0;
    uint64_t c = hwi_round_pack(0, sig, e2, sticky, e4m3, rne_sat, 0, &fl);
    return c == 0 ? 1 : c; /* below 2^-9: clamp to the smallest subnormal */
}

uint64_t hwi_nvfp4_scale32(float amax, double ts, const hw_format *e4m3, const hw_opts *rne_sat)
{
    int sign;
    uint64_t sig = 0;
    int32_t e2 = 0;
    float q = amax / (6.0f * (float)ts);
    if (q == 0.0f) return E4M3_ONE;
    if (q > 448.0f) q = 448.0f;
    hwi_split((double)q, &sign, &sig, &e2);
    return scale_code(sig, e2, 0, e4m3, rne_sat);
}

/* Scale code of one block; 0x7F for a NaN / Inf block. */
static uint64_t block_scale(const void *in, int in_kind, size_t start, size_t len,
                            double ts, int32_t arith, const hw_format *e4m3,
                            const hw_opts *rne_sat)
{
    size_t j;
    int sign, sticky;
    uint64_t sig = 0, tsig = 0;
    int32_t e2 = 0, te = 0, qe;
    if (arith == HW_NVFP4_FLOAT32) {
        float amax = 0.0f;
        for (j = 0; j < len; j++) {
            float v = (float)hwi_load_in(in, in_kind, start + j);
            if (!(v - v == 0.0f)) return 0x7F; /* NaN or Inf */
            if (v < 0) v = -v;
            if (v > amax) amax = v;
        }
        return hwi_nvfp4_scale32(amax, ts, e4m3, rne_sat);
    } else {
        double amax = 0.0;
        for (j = 0; j < len; j++) {
            double v = hwi_load_in(in, in_kind, start + j);
            if (!(v - v == 0.0)) return 0x7F; /* NaN or Inf */
            if (v < 0) v = -v;
            if (v > amax) amax = v;
        }
        if (amax == 0.0) return E4M3_ONE;
        hwi_split(amax, &sign, &sig, &e2);
        hwi_split(ts, &sign, &tsig, &te);
        strip_zeros(&tsig, &te);
        /* 6 * ts = (3 * tsig) * 2^(te + 1), 3 * tsig < 2^26 */
        sig = hwi_div_exact(sig, e2, 3 * tsig, te + 1, &qe, &sticky);
        return scale_code(sig, qe, sticky, e4m3, rne_sat);
    }
}

uint64_t hwi_nvfp4_elem_code(double v, double s, double ts, int32_t arith, const hw_format *e2m1,
                          const hw_opts *os, uint32_t rnd, uint32_t *flags)
{
    int sign, cls, sticky, dsign;
    uint64_t sig = 0, dsig = 0;
    int32_t e2 = 0, de = 0, qe;
    if (v != v) { *flags |= HWI_ERR_NAN; return 0; }
    if (arith == HW_NVFP4_FLOAT32) {
        float d = (float)s * (float)ts;
        float q = (float)v / d;
        cls = hwi_split((double)q, &sign, &sig, &e2);
        if (cls == HWI_ZERO) return hwi_zero_code(sign, e2m1);
        if (cls == HWI_INF) { /* float32 quotient overflowed: saturate */
            *flags |= HW_FLAG_OVERFLOW | HW_FLAG_INEXACT;
            return (sign ? e2m1->sign_bit : 0) | e2m1->max_code;
        }
        return hwi_round_pack(sign, sig, e2, 0, e2m1, os, rnd, flags);
    }
    cls = hwi_split(v, &sign, &sig, &e2);
    if (cls == HWI_ZERO) return hwi_zero_code(sign, e2m1);
    if (cls == HWI_INF) {
        *flags |= HW_FLAG_INVALID;
        return (sign ? e2m1->sign_bit : 0) | e2m1->max_code;
    }
    hwi_split(s * ts, &dsign, &dsig, &de); /* exact: 4 x 24 significant bits */
    strip_zeros(&dsig, &de);
    sig = hwi_div_exact(sig, e2, dsig, de, &qe, &sticky);
    return hwi_round_pack(sign, sig, qe, sticky, e2m1, os, rnd, flags);
}

int hwi_nvfp4_setup(hw_format *e2m1, hw_format *e4m3, double tensor_scale, const hw_opts *o,
                    hw_opts *os, hw_opts *rne_sat)
{
    memset(e2m1, 0, sizeof *e2m1);
    memset(e4m3, 0, sizeof *e4m3);
    e2m1->exp_bits = 2; e2m1->man_bits = 1; e2m1->bias = 1;
    e2m1->specials = HW_SPECIALS_FINITE; e2m1->subnormals = 1; e2m1->is_signed = 1;
    e4m3->exp_bits = 4; e4m3->man_bits = 3; e4m3->bias = 7;
    e4m3->specials = HW_SPECIALS_FN; e4m3->subnormals = 1; e4m3->is_signed = 1;
    if (hw_format_init(e2m1) != HW_OK || hw_format_init(e4m3) != HW_OK) return HW_E_FORMAT;
    /* the tensor scale: a binary32 value in [2^-117, FLT_MAX] */
    if (!(tensor_scale >= 0x1p-117 && tensor_scale <= 0x1.fffffep127) ||
        (double)(float)tensor_scale != tensor_scale)
        return HW_E_MODE;
    *os = *o;
    os->overflow = HW_OVF_SATURATE;
    os->ftz = 0;
    os->daz = 0;
    *rne_sat = *os;
    rne_sat->rounding = HW_ROUND_RNE;
    return HW_OK;
}

int hwi_nvfp4_block_elems(uint8_t *elem_out, const void *in, int in_kind, size_t start,
                          size_t len, uint64_t sc, double tensor_scale, int32_t arith,
                          const hw_format *e2m1, const hw_opts *os, uint32_t *all,
                          int64_t *err_index)
{
    double s = hwi_nvfp4_scale_value(sc);
    size_t j;
    for (j = 0; j < len; j++) {
        uint64_t code = 0;
        if (sc != 0x7F) {
            uint32_t fl = 0;
            code = hwi_nvfp4_elem_code(hwi_load_in(in, in_kind, start + j), s, tensor_scale,
                                       arith, e2m1, os, hwi_block_rand(os, start + j), &fl);
            if (fl & HWI_ERR_NAN) {
                *err_index = (int64_t)(start + j);
                return HW_E_NAN;
            }
            *all |= fl;
        }
        elem_out[start + j] = (uint8_t)code;
    }
    return HW_OK;
}

int hw_nvfp4_quantize_general(uint8_t *elem_out, uint8_t *scales, int32_t scales_in,
                              const void *in, int in_kind, size_t nrows, size_t ncols,
                              size_t block_size, double tensor_scale, int32_t arith,
                              const hw_opts *o, hw_result *res)
{
    hw_format e2m1, e4m3;
    hw_opts os, rne_sat;
    size_t r, b, nblocks;
    uint32_t all = 0;
    int st;
    if (res) { res->flags = 0; res->err_index = -1; }
    if (!res || !o) return HW_E_SIZE;
    if ((st = hwi_block_check_opts(o)) != HW_OK) return st;
    if (in_kind != HW_IN_F64 && in_kind != HW_IN_F32) return HW_E_SIZE;
    if (arith != HW_NVFP4_FLOAT32 && arith != HW_NVFP4_EXACT) return HW_E_MODE;
    if (block_size == 0) return HW_E_SIZE;
    if (nrows && ncols && (!elem_out || !scales || !in)) return HW_E_SIZE;
    st = hwi_nvfp4_setup(&e2m1, &e4m3, tensor_scale, o, &os, &rne_sat);
    if (st != HW_OK) return st;
    nblocks = (ncols + block_size - 1) / block_size;
    for (r = 0; r < nrows; r++) {
        for (b = 0; b < nblocks; b++) {
            size_t start = r * ncols + b * block_size;
            size_t len = ncols - b * block_size < block_size ? ncols - b * block_size : block_size;
            uint64_t sc;
            if (scales_in) {
                sc = scales[r * nblocks + b];
                if (sc == 0 || sc > 0x7F) { /* zero or negative scale */
                    res->err_index = (int64_t)(r * nblocks + b);
                    return HW_E_CODE; /* flags stay 0 */
                }
            } else {
                sc = block_scale(in, in_kind, start, len, tensor_scale, arith, &e4m3, &rne_sat);
                scales[r * nblocks + b] = (uint8_t)sc;
            }
            st = hwi_nvfp4_block_elems(elem_out, in, in_kind, start, len, sc, tensor_scale, arith,
                                       &e2m1, &os, &all, &res->err_index);
            if (st != HW_OK) {
                res->flags = all;
                return st;
            }
        }
    }
    res->flags = all;
    return HW_OK;
}
