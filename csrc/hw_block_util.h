/* hw_block_util.h -- helpers shared by the block-format kernels
 * (hw_block.c: MX, hw_nvfp4.c: NVFP4, hw_bfp.c: BFP).  Never exposed to cffi. */
#ifndef HW_BLOCK_UTIL_H
#define HW_BLOCK_UTIL_H

#include "hw_internal.h"

/* classes returned by hwi_split */
#define HWI_NAN 0
#define HWI_INF 1
#define HWI_ZERO 2
#define HWI_FINITE 3

/* Split a double into sign, integer significand and exponent: |x| = sig * 2^e2.
 * Returns HWI_NAN, HWI_INF, HWI_ZERO or HWI_FINITE (sig != 0 only then). */
static inline int hwi_split(double x, int *sign, uint64_t *sig, int32_t *e2)
{
    uint64_t u = hwi_f64_bits(x);
    int ex = (int)((u >> 52) & 0x7FF);
    *sign = (int)(u >> 63);
    *sig = u & 0xFFFFFFFFFFFFFull;
    if (ex == 0x7FF) return *sig ? HWI_NAN : HWI_INF;
    if (ex == 0) {
        if (*sig == 0) return HWI_ZERO;
        *e2 = -1074;
        return HWI_FINITE;
    }
    *sig |= 1ull << 52;
    *e2 = ex - 1075;
    return HWI_FINITE;
}

/* element i of an input array of kind HW_IN_F64 / HW_IN_F32, as a double (exact) */
static inline double hwi_load_in(const void *in, int in_kind, size_t i)
{
    return in_kind == HW_IN_F64 ? ((const double *)in)[i] : (double)((const float *)in)[i];
}

/* validate the options a block quantizer uses: rounding mode and SR bits
 * (the caller's random array is not supported for block formats) */
static inline int hwi_block_check_opts(const hw_opts *o)
{
    if (!o) return HW_E_SIZE;
    if (o->rounding < HW_ROUND_RNE || o->rounding > HW_ROUND_SR) return HW_E_MODE;
    if (o->rounding == HW_ROUND_SR && (o->sr_bits < 1 || o->sr_bits > 32)) return HW_E_MODE;
    if (o->rounding == HW_ROUND_SR && o->sr_external) return HW_E_MODE;
    return HW_OK;
}

/* the r-bit random integer of element `index` (0 unless rounding is SR) */
static inline uint32_t hwi_block_rand(const hw_opts *o, uint64_t index)
{
    uint32_t mask;
    if (o->rounding != HW_ROUND_SR) return 0;
    mask = o->sr_bits >= 32 ? 0xFFFFFFFFu : ((1u << o->sr_bits) - 1u);
    return hwi_random32(o->seed, o->index0 + index) & mask;
}

/* Round the magnitude sig * 2^sh (sig != 0) to an integer with the mode of o
 * (sign: 1 if the value is negative, for the directed modes).  Results that
 * would not fit in 63 bits come back as 2^63 (callers saturate long before). */
static inline uint64_t hwi_round_int_mag(int sign, uint64_t sig, int32_t sh, const hw_opts *o,
                                         uint32_t rnd, int *inexact)
{
    uint64_t K, rem;
    int32_t s;
    int g, t;
    *inexact = 0;
    if (sh >= 0) {
        if (sh >= 63 || (sig >> (63 - sh)) != 0) return 1ull << 63;
        return sig << sh;
    }
    s = -sh;
    K = s >= 64 ? 0 : sig >> s;
    rem = s >= 64 ? sig : sig & ((1ull << s) - 1);
    if (!rem) return K;
    *inexact = 1;
    if (o->rounding == HW_ROUND_SR) {
        int r = o->sr_bits;
        uint64_t top;
        if (s >= r) top = (s - r >= 64) ? 0 : rem >> (s - r);
        else top = rem << (r - s);
        return K + ((top + (uint64_t)rnd) >> r);
    }
    g = s > 64 ? 0 : (int)((sig >> (s - 1)) & 1);
    t = s > 64 ? 1 : (rem & ((1ull << (s - 1)) - 1)) != 0;
    if (o->rounding == HW_ROUND_RTO) return K | 1;
    return K + (uint64_t)hwi_round_increment(o->rounding, sign, (int)(K & 1), g, t);
}

/* Exact quotient of two positive values n_sig * 2^n_e / (d_sig * 2^d_e) as
 * q * 2^*e_out plus a sticky remainder flag (*sticky); d_sig < 2^32, so q has
 * at least 30 significant bits.  n_sig != 0, d_sig != 0. */
static inline uint64_t hwi_div_exact(uint64_t n_sig, int32_t n_e, uint64_t d_sig, int32_t d_e,
                                     int32_t *e_out, int *sticky)
{
    int sh = 62 - hwi_msb64(n_sig);
    uint64_t n = n_sig << sh;
    *e_out = n_e - sh - d_e;
    *sticky = (n % d_sig) != 0;
    return n / d_sig;
}

/* ---- OCP MX (hw_block.c, hw_mx_fast.c) ---- */

/* the element type of an MX format */
typedef struct hwi_mx_elem {
    const hw_format *f;   /* float element format, or NULL for integers */
    int32_t emax_elem;    /* floor(log2(element max))                   */
    int32_t int_bits;     /* integer elements: width                     */
    int32_t int_frac;     /* integer elements: fraction bits             */
    uint64_t int_max;     /* largest positive integer                    */
    uint64_t int_negmax;  /* largest negative magnitude                  */
} hwi_mx_elem;

/* Validate the element arguments of hw_mx_quantize and fill *el and the
 * element options *os (o with saturation, no FTZ / DAZ). */
int hwi_mx_setup(int elem_size, const hw_format *elem, int32_t emax_elem, int32_t int_bits,
                 int32_t int_frac_bits, int64_t int_min, const hw_opts *o, hwi_mx_elem *el,
                 hw_opts *os);

/* Code of one element V / 2^se (rnd: SR random integer); ORs HW_FLAG_* and
 * HWI_ERR_NAN (NaN element) into *flags. */
uint64_t hwi_mx_elem_code(double v, int32_t se, const hwi_mx_elem *el, const hw_opts *o,
                          uint32_t rnd, uint32_t *flags);

/* The elements [start, start + len) of one block with shared exponent se
 * (ok == 0: NaN scale, codes 0), in order; ORs their flags into *all.
 * Returns HW_OK, or HW_E_NAN with *err_index at the first NaN element (*all
 * then holds the flags of the elements before it). */
int hwi_mx_block_elems(void *elem_out, int elem_size, const void *in, int in_kind,
                       size_t start, size_t len, int ok, int32_t se, const hwi_mx_elem *el,
                       const hw_opts *os, uint32_t *all, int64_t *err_index);

#endif
