/* hw_mac_nan.c -- NaN results of the MAC units under a NaN rule (HW_NANR_*,
 * include/hwsim.h): which NaN operand wins, and its code in a format. */
#include "hw_internal.h"

int hwi_is_snan(const hw_xval *x) { return x->cls == HW_XV_NAN && x->exp == 1; }

void hwi_nan_default(hw_xval *x, int rule)
{
    x->cls = HW_XV_NAN;
    x->sign = (uint8_t)((rule & HW_NANR_NEGATIVE) != 0);
    x->sig = 1ull << 63; /* quiet bit, zero payload */
    x->exp = 0;
    x->aexp = -32000;
}

/* The NaN that x + y or x * y gives, in priority order x, y (at least one is a
 * NaN): the first NaN, or with HW_NANR_PREFER_SNAN the first signalling one.
 * Signalling marks stay (a later step of the same MAC sees them). */
const hw_xval *hwi_nan_pick(const hw_xval *x, const hw_xval *y, int rule, uint32_t *flags)
{
    int sx = hwi_is_snan(x), sy = hwi_is_snan(y);
    if (sx || sy) *flags |= HW_FLAG_INVALID;
    if ((rule & HW_NANR_PREFER_SNAN) && (sx || sy)) return sx ? x : y;
    return x->cls == HW_XV_NAN ? x : y;
}

/* The code of NaN x (NULL: the default NaN) in format f under o->nan_rule;
 * HWI_ERR_NAN for a format without NaN (as hwi_float_special). */
uint64_t hwi_float_nan(const hw_xval *x, const hw_format *f, const hw_opts *o, uint32_t *flags)
{
    int rule = o->nan_rule, neg;
    uint64_t code;
    if (!f->has_nan) {
        *flags |= HWI_ERR_NAN;
        return 0;
    }
    if (!(rule & HW_NANR_PROPAGATE) || !x) {
        neg = (rule & HW_NANR_NEGATIVE) != 0;
    } else {
        neg = x->sign;
        if (f->specials == HW_SPECIALS_IEEE) {
            const int M = f->man_bits; /* >= 1: the format has a NaN */
            code = (f->mag_mask >> M) << M;          /* exponent all ones */
            code |= (x->sig >> (64 - M)) | (1ull << (M - 1)); /* payload, quiet */
            return code | (neg ? f->sign_bit : 0);
        }
    }
    if (neg && f->is_signed && (f->specials == HW_SPECIALS_IEEE || f->specials == HW_SPECIALS_FN))
        return f->nan_code | f->sign_bit;
    return f->nan_code;
}
