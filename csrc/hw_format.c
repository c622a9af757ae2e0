/* hw_format.c -- hw_format_init(): validate a format, derive its constants. */
#include "hw_internal.h"

int hw_format_init(hw_format *f)
{
    int32_t E, M, sp, mag_bits, low_exp;
    uint64_t allones;
    if (!f) return HW_E_FORMAT;
    E = f->exp_bits; M = f->man_bits; sp = f->specials;
    if (E < 1 || E > 11 || M < 0 || M > 52) return HW_E_FORMAT;
    if (sp < HW_SPECIALS_IEEE || sp > HW_SPECIALS_E8M0) return HW_E_FORMAT;
    if (f->is_signed != 0 && f->is_signed != 1) return HW_E_FORMAT;
    if (f->subnormals != 0 && f->subnormals != 1) return HW_E_FORMAT;
    if (E + M + f->is_signed > 64) return HW_E_FORMAT;
    if (f->bias < -4096 || f->bias > 4096) return HW_E_FORMAT;
    if ((sp == HW_SPECIALS_FNUZ || sp == HW_SPECIALS_P3109 ||
         sp == HW_SPECIALS_P3109_FINITE) && !f->is_signed)
        return HW_E_FORMAT;
    if (sp == HW_SPECIALS_E8M0 && (f->is_signed || M != 0 || f->subnormals))
        return HW_E_FORMAT;
    if (sp == HW_SPECIALS_FN && E + M < 2) return HW_E_FORMAT;
    if (sp == HW_SPECIALS_IEEE && E < 2) return HW_E_FORMAT;

    mag_bits = E + M;
    allones = (1ull << E) - 1;
    f->bits = mag_bits + f->is_signed;
    f->sign_bit = f->is_signed ? (1ull << mag_bits) : 0;
    f->mag_mask = mag_bits == 64 ? ~0ull : (1ull << mag_bits) - 1;
    f->has_inf = sp == HW_SPECIALS_IEEE || sp == HW_SPECIALS_P3109;
    f->has_nan = sp != HW_SPECIALS_FINITE && !(sp == HW_SPECIALS_IEEE && M == 0);
    f->has_negzero = f->is_signed && (sp == HW_SPECIALS_IEEE || sp == HW_SPECIALS_FN ||
                                      sp == HW_SPECIALS_FINITE);
    f->has_zero = sp != HW_SPECIALS_E8M0;
    f->inf_code = 0;
    f->nan_code = 0;
    switch (sp) {
    case HW_SPECIALS_IEEE:
        f->max_code = ((allones - 1) << M) | ((1ull << M) - 1);
        f->inf_code = allones << M;
        if (M > 0) f->nan_code = (allones << M) | (1ull << (M - 1));
        break;
    case HW_SPECIALS_FN:
        f->nan_code = f->mag_mask;
        f->max_code = f->mag_mask - 1;
        break;
    case HW_SPECIALS_P3109:
        f->inf_code = f->mag_mask;
        f->max_code = f->mag_mask - 1;
        f->nan_code = f->sign_bit;
        break;
    case HW_SPECIALS_E8M0:
        f->nan_code = allones;
        f->max_code = allones - 1;
        break;
    case HW_SPECIALS_FNUZ:
    case HW_SPECIALS_P3109_FINITE:
        f->nan_code = f->sign_bit;
        f->max_code = f->mag_mask;
        break;
    default: /* FINITE */
        f->max_code = f->mag_mask;
        break;
    }
    f->emin = sp == HW_SPECIALS_E8M0 ? -f->bias : 1 - f->bias;
    f->emax = (int32_t)(f->max_code >> M) - f->bias;
    low_exp = f->emin - M; /* LSB of the smallest binade */
    if (low_exp < -1074 || f->emax > 1023) return HW_E_FORMAT;
    if (sp == HW_SPECIALS_E8M0 && f->emin < -1022) return HW_E_FORMAT;
    return HW_OK;
}
