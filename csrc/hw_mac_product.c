/* hw_mac_product.c -- exact products of decoded operands, and the encode of
 * a value into a scalar number format (product rounding, partial sums). */
#include "hw_internal.h"

/* p = a * b exactly; a NaN operand gives the NaN hwi_nan_pick chooses
 * (INVALID for a signalling one), Inf * 0 the default NaN (INVALID). */
int hwi_mac_product(const hw_xval *a, const hw_xval *b, hw_xval *p, int nan_rule, uint32_t *fl)
{
    if (a->cls == HW_XV_NAN || b->cls == HW_XV_NAN) {
        *p = *hwi_nan_pick(a, b, nan_rule, fl);
        return HW_OK;
    }
    p->sign = a->sign ^ b->sign;
    p->sig = 0;
    p->exp = 0;
    p->aexp = -32000;
    if (a->cls == HW_XV_INF || b->cls == HW_XV_INF) {
        if ((a->cls == HW_XV_FINITE && !a->sig) || (b->cls == HW_XV_FINITE && !b->sig)) {
            hwi_nan_default(p, nan_rule); /* Inf * 0 */
            *fl |= HW_FLAG_INVALID;
        } else {
            p->cls = HW_XV_INF;
        }
        return HW_OK;
    }
    p->cls = HW_XV_FINITE;
    if (__builtin_mul_overflow(a->sig, b->sig, &p->sig)) return HW_E_SIZE;
    if (p->sig) {
        int32_t e = (int32_t)a->aexp + b->aexp;
        p->exp = a->exp + b->exp;
        p->aexp = (int16_t)(e < -32000 ? -32000 : (e > 32000 ? 32000 : e));
    }
    return HW_OK;
}

/* integer result v = (-1)^sign * mag (or huge, with the low 64 bits of the
 * magnitude in low) into a fixed / int number format */
static uint32_t fixed_finish(const hw_num_spec *ns, int sign, hwi_u128 mag, int huge,
                             uint64_t low, uint64_t *code, hw_xval *dec)
{
    uint64_t mask = ns->bits >= 64 ? ~0ull : (1ull << ns->bits) - 1;
    hwi_u128 max_pos = ns->is_signed ? (hwi_u128)(mask >> 1) : (hwi_u128)mask;
    hwi_u128 max_neg = ns->is_signed ? (hwi_u128)(mask >> 1) + 1 : 0;
    uint32_t fl = 0;
    uint64_t c;
    int neg = sign && (mag || huge);
    if (huge || (neg ? mag > max_neg : mag > max_pos)) {
        fl |= HW_FLAG_OVERFLOW;
        if (ns->overflow == HW_OVF_WRAP) {
            uint64_t m = huge ? low : (uint64_t)mag;
            c = (neg ? 0 - m : m) & mask;
        } else if (ns->overflow == HW_OVF_SATURATE) {
            fl |= HW_FLAG_INEXACT;
            c = neg ? (uint64_t)(0 - (uint64_t)max_neg) & mask : (uint64_t)max_pos;
        } else {
            return fl | HWI_ERR_OVERFLOW;
        }
    } else {
        c = (neg ? 0 - (uint64_t)mag : (uint64_t)mag) & mask;
    }
    *code = c;
    dec->cls = HW_XV_FINITE;
    if (ns->is_signed && ((c >> (ns->bits - 1)) & 1)) {
        dec->sign = 1;
        dec->sig = (0 - c) & mask;
    } else {
        dec->sign = 0;
        dec->sig = c;
    }
    dec->exp = -ns->frac_bits;
    dec->aexp = dec->sig ? (int16_t)(hwi_msb64(dec->sig) - ns->frac_bits) : -32000;
    return fl;
}

static uint32_t fixed_special(const hw_num_spec *ns, const hw_xval *x, uint64_t *code,
                              hw_xval *dec)
{
    hw_num_spec sat = *ns;
    uint32_t fl;
    if (x->cls == HW_XV_NAN || ns->overflow == HW_OVF_ERROR) return HWI_ERR_NAN;
    sat.overflow = HW_OVF_SATURATE; /* +-Inf clamps under saturate and wrap */
    fl = fixed_finish(&sat, x->sign, 0, 1, 0, code, dec);
    return (fl & ~(uint32_t)(HW_FLAG_OVERFLOW | HW_FLAG_INEXACT)) | HW_FLAG_INVALID;
}

uint32_t hwi_num_from_xval(const hw_num_spec *ns, const hw_opts *o, const hw_xval *x,
                           uint64_t *code, hw_xval *dec)
{
    uint32_t fl = 0;
    if (ns->kind == HW_NUM_FLOAT) {
        if (x->cls == HW_XV_FINITE) *code = hwi_round_pack(x->sign, x->sig, x->exp, 0, ns->fmt, o, 0, &fl);
        else if (x->cls == HW_XV_NAN) *code = hwi_float_nan(x, ns->fmt, o, &fl);
        else *code = hwi_float_special(0, x->sign, ns->fmt, o, &fl);
        hwi_xval_from_code(dec, *code, ns->fmt);
        return fl;
    }
    if (x->cls != HW_XV_FINITE) return fixed_special(ns, x, code, dec);
    {
        hwi_u128 mag;
        int32_t sh = x->exp + ns->frac_bits;
        int rc = hwi_scale_round(x->sign, x->sig, sh, ns->rounding, &mag);
        uint64_t low = rc & 1 ? (sh >= 64 ? 0 : x->sig << sh) : 0;
        fl = (rc & 2) ? HW_FLAG_INEXACT : 0;
        return fl | fixed_finish(ns, x->sign, mag, rc & 1, low, code, dec);
    }
}

uint32_t hwi_num_from_xsum(const hw_num_spec *ns, const hw_opts *o, const hwi_xsum *s,
                           uint64_t *code, hw_xval *dec)
{
    uint32_t fl = 0;
    if (ns->kind == HW_NUM_FLOAT) {
        *code = hwi_xsum_round_float(s, ns->fmt, o, &fl);
        hwi_xval_from_code(dec, *code, ns->fmt);
        return fl;
    }
    if (s->nan || s->pinf || s->ninf) {
        hw_xval x;
        x.cls = s->nan || (s->pinf && s->ninf) ? HW_XV_NAN : HW_XV_INF;
        x.sign = (uint8_t)(s->ninf && !s->pinf);
        return fixed_special(ns, &x, code, dec);
    }
    {
        uint64_t t[HWI_FX_LIMBS + 40];
        int huge, i, neg, big = 0;
        uint64_t m0 = 0, m1 = 0, cc = 1;
        hwi_xsum_to_grid(s, -ns->frac_bits, ns->rounding, t, s->nl + 1, &huge);
        neg = (int)(t[s->nl] >> 63);
        /* magnitude limbs 0, 1 and whether anything above 128 bits */
        for (i = 0; i <= s->nl; i++) {
            uint64_t m = neg ? ~t[i] + cc : t[i];
            if (neg) cc = cc && m == 0;
            if (i == 0) m0 = m;
            else if (i == 1) m1 = m;
            else if (m) big = 1;
        }
        {
            /* inexactness is not tracked through the grid rounding here */
            hwi_u128 mag = ((hwi_u128)m1 << 64) | m0;
            if (mag >> 125) big = 1;
            return fl | fixed_finish(ns, neg, big ? 0 : mag, big, m0, code, dec);
        }
    }
}
