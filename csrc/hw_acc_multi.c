/* hw_acc_multi.c -- fused multi-term accumulators (tensor-core style): per
 * group of products plus the running sum c, align every term to the largest
 * alignment exponent, keep window_bits fraction bits (truncate / sticky /
 * round the rest), sum exactly, normalise and round once into the output
 * format. */
#include <math.h>
#include "hw_internal.h"

/* |term| in units of 2^(eref - F - 1) after the shifted-out rule */
static hwi_u128 window(const hw_xval *x, int32_t eref, int32_t F, int rule)
{
    int32_t sh = x->exp - (eref - F);
    hwi_u128 t;
    if (sh >= 0) return sh > 120 ? 0 : ((hwi_u128)x->sig << sh) << 1;
    if (rule == HW_SHIFTED_ROUND) {
        hwi_scale_round(0, x->sig, sh, HW_ROUND_RNE, &t);
        return t << 1;
    }
    {
        int s = sh < -100 ? 100 : -sh;
        uint64_t kept = s >= 64 ? 0 : x->sig >> s;
        int dropped = s >= 64 ? x->sig != 0 : (x->sig & ((1ull << s) - 1)) != 0;
        t = (hwi_u128)kept << 1;
        if (rule == HW_SHIFTED_STICKY) t |= (hwi_u128)(unsigned)dropped;
        return t;
    }
}

uint32_t hwi_multi_group(const hwi_unit *u, hwi_reg *r, const hw_xval *p, int n,
                         hwi_xsum *xs, double *exact, hwi_stat *st)
{
    const hw_acc_spec *A = u->a;
    const hw_format *f = A->fmt;
    hw_xval c = r->x;
    int i, nan = c.cls == HW_XV_NAN, pinf = 0, ninf = 0, nonzero = 0, allneg = c.sign,
        allpos = !c.sign;
    int32_t eref = INT32_MIN;
    hwi_i128 S = 0;
    uint32_t fl = 0;
    uint64_t code;
    double a;
    if (c.cls == HW_XV_INF) { if (c.sign) ninf = 1; else pinf = 1; }
    for (i = 0; i < n; i++) {
        allneg &= p[i].sign;
        allpos &= !p[i].sign;
        if (p[i].cls == HW_XV_NAN) nan = 1;
        else if (p[i].cls == HW_XV_INF) { if (p[i].sign) ninf = 1; else pinf = 1; }
        else if (p[i].sig) { nonzero = 1; if (p[i].aexp > eref) eref = p[i].aexp; }
    }
    *exact = 0.0;
    if (nan) { /* priority: the register, then the products in k order */
        const hw_xval *w = &c;
        for (i = 0; i < n; i++)
            if (p[i].cls == HW_XV_NAN) w = hwi_nan_pick(w, &p[i], u->o.nan_rule, &fl);
        if (hwi_is_snan(w)) fl |= HW_FLAG_INVALID;
        code = hwi_float_nan(w, f, &u->o, &fl);
        *exact = hwi_bits_f64(0x7FF8000000000000ull);
    } else if (pinf && ninf) {
        fl |= HW_FLAG_INVALID;
        code = hwi_float_nan(NULL, f, &u->o, &fl);
        *exact = hwi_bits_f64(0x7FF8000000000000ull);
    } else if (pinf || ninf) {
        code = hwi_float_special(0, ninf, f, &u->o, &fl);
        *exact = ninf ? -hwi_bits_f64(0x7FF0000000000000ull) : hwi_bits_f64(0x7FF0000000000000ull);
    } else {
        hw_xval part;
        hwi_u128 mag;
        if (c.sig) nonzero = 1;
        if (!A->c_late && c.sig && c.aexp > eref) eref = c.aexp;
        for (i = 0; i <= n; i++) {
            const hw_xval *x = i < n ? &p[i] : &c;
            hwi_u128 t;
            if (i == n && A->c_late) break;
            if (!x->sig) continue;
            t = window(x, eref, A->window_bits, A->shifted_out);
            S += x->sign ? -(hwi_i128)t : (hwi_i128)t;
        }
        hwi_xsum_clear(xs);
        mag = S < 0 ? -(hwi_u128)S : (hwi_u128)S;
        part.cls = HW_XV_FINITE;
        part.sign = S < 0;
        part.aexp = 0;
        if (mag) {
            part.sig = (uint64_t)mag;
            part.exp = eref - A->window_bits - 1;
            if (hwi_xsum_add_xval(xs, &part) != HW_OK) return HWI_ERR_OVERFLOW;
            part.sig = (uint64_t)(mag >> 64);
            part.exp += 64;
            if (hwi_xsum_add_xval(xs, &part) != HW_OK) return HWI_ERR_OVERFLOW;
        }
        if (A->c_late && c.sig && hwi_xsum_add_xval(xs, &c) != HW_OK) return HWI_ERR_OVERFLOW;
        if (hwi_xsum_sign(xs) == 0) {
            int rdn = u->o.rounding == HW_ROUND_RDN;
            code = hwi_zero_code(nonzero ? rdn : (allneg ? 1 : (allpos ? 0 : rdn)), f);
        } else {
            code = hwi_xsum_round_float(xs, f, &u->o, &fl);
            *exact = hwi_xsum_to_double(xs);
        }
    }
    r->code = code;
    hwi_xval_from_code(&r->x, code, f);
    a = fabs(hwi_xval_double(&r->x));
    if (a > st->max_abs) st->max_abs = a;
    if (fl & HW_FLAG_OVERFLOW) st->acc_events++;
    return fl;
}

static int multi_init(hwi_unit *u)
{
    const hw_acc_spec *a = u->a;
    int rc = hwi_float_check(u);
    if (rc != HW_OK) return rc;
    if (a->fan_in < 1 || a->fan_in > 65536 || a->window_bits < 0 || a->window_bits > 100 ||
        a->shifted_out < 0 || a->shifted_out > 2) return HW_E_MODE;
    return HW_OK;
}

static int multi_mac_exact(const hw_acc_spec *a) { return 0; }

/* groups of fan_in products; no single MAC step, no adder tree */
const hwi_acc_ops hwi_acc_multi_ops = {
    multi_init, hwi_float_zero, NULL, hwi_float_load, multi_mac_exact, NULL,
    hwi_multi_group, hwi_float_from_xsum, hwi_float_to_xsum, hwi_float_double, hwi_float_store,
};
