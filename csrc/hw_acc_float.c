/* hw_acc_float.c -- floating-point accumulators: exact two-term sums rounded
 * once (hwi_round_pack), specials, and the float register operations. */
#include <math.h>
#include "hw_internal.h"

/* round(x + y) into f, both finite; IEEE signs for exact zeros */
uint64_t hwi_add_round(const hw_xval *x, const hw_xval *y, const hw_format *f,
                       const hw_opts *o, uint32_t *flags)
{
    const hw_xval *X = x, *Y = y;
    int shx, sign;
    int32_t e, d;
    hwi_u128 mx, my, m;
    uint64_t sig;
    if (!x->sig && !y->sig)
        return hwi_zero_code(x->sign == y->sign ? x->sign : o->rounding == HW_ROUND_RDN, f);
    if (!x->sig) return hwi_round_pack(y->sign, y->sig, y->exp, 0, f, o, 0, flags);
    if (!y->sig) return hwi_round_pack(x->sign, x->sig, x->exp, 0, f, o, 0, flags);
    {   /* common case: both fit a 62-bit window on the lower LSB (exact in uint64) */
        int32_t lo = x->exp < y->exp ? x->exp : y->exp;
        int64_t sx = (int64_t)x->exp - lo, sy = (int64_t)y->exp - lo;
        if (hwi_msb64(x->sig) + sx <= 61 && hwi_msb64(y->sig) + sy <= 61) {
            uint64_t a = x->sig << sx, b = y->sig << sy, mm;
            if (x->sign == y->sign) { mm = a + b; sign = x->sign; }
            else if (a >= b) { mm = a - b; sign = x->sign; }
            else { mm = b - a; sign = y->sign; }
            if (!mm) return hwi_zero_code(o->rounding == HW_ROUND_RDN, f);
            return hwi_round_pack(sign, mm, lo, 0, f, o, 0, flags);
        }
    }
    if ((int64_t)y->exp + hwi_msb64(y->sig) > (int64_t)x->exp + hwi_msb64(x->sig)) {
        X = y;
        Y = x;
    }
    shx = 125 - hwi_msb64(X->sig);
    mx = (hwi_u128)X->sig << shx;
    e = X->exp - shx;
    d = Y->exp - e;
    if (d >= 0) my = (hwi_u128)Y->sig << d;
    else my = hwi_jam128((hwi_u128)Y->sig, d < -200 ? 200 : -d);
    if (X->sign == Y->sign) { m = mx + my; sign = X->sign; }
    else if (mx >= my) { m = mx - my; sign = X->sign; }
    else { m = my - mx; sign = Y->sign; }
    if (!m) return hwi_zero_code(o->rounding == HW_ROUND_RDN, f);
    sig = hwi_narrow128(m, &e);
    return hwi_round_pack(sign, sig, e, 0, f, o, 0, flags);
}

static inline double xval_double(const hw_xval *x)
{
    double d;
    if (x->cls == HW_XV_NAN) return hwi_bits_f64(0x7FF8000000000000ull);
    if (x->cls == HW_XV_INF) d = hwi_bits_f64(0x7FF0000000000000ull);
    else if (!x->sig) d = 0.0;
    else if (x->exp >= -1022 && x->exp <= 1023) /* exact when sig < 2^53 */
        d = (double)x->sig * hwi_bits_f64((uint64_t)(x->exp + 1023) << 52);
    else d = ldexp((double)x->sig, x->exp);
    return x->sign ? -d : d;
}

double hwi_xval_double(const hw_xval *x) { return xval_double(x); }

static inline void float_set(const hwi_unit *u, hwi_reg *r, uint64_t code, hwi_stat *st)
{
    double a;
    r->code = code;
    hwi_xval_from_code(&r->x, code, u->a->fmt);
    a = fabs(xval_double(&r->x));
    if (a > st->max_abs) st->max_abs = a; /* NaN never compares greater */
}

/* r <- r (+) p: one MAC step of a float accumulator */
uint32_t hwi_float_mac(const hwi_unit *u, hwi_reg *r, const hw_xval *p, hwi_stat *st)
{
    const hw_format *f = u->a->fmt;
    uint32_t fl = 0;
    hw_xval q = *p;
    uint64_t code;
    if (p->cls == HW_XV_FINITE && !u->a->fused) {
        code = hwi_round_pack(p->sign, p->sig, p->exp, 0, f, &u->o, 0, &fl);
        hwi_xval_from_code(&q, code, f);
    }
    if (q.cls == HW_XV_NAN || r->x.cls == HW_XV_NAN) { /* priority: register, product */
        code = hwi_float_nan(hwi_nan_pick(&r->x, &q, u->o.nan_rule, &fl), f, &u->o, &fl);
    } else if (q.cls == HW_XV_INF && r->x.cls == HW_XV_INF && q.sign != r->x.sign) {
        fl |= HW_FLAG_INVALID;
        code = hwi_float_nan(NULL, f, &u->o, &fl);
    } else if (q.cls != HW_XV_FINITE || r->x.cls != HW_XV_FINITE) {
        code = hwi_float_special(0, r->x.cls == HW_XV_INF ? r->x.sign : q.sign, f, &u->o, &fl);
    } else {
        code = hwi_add_round(&r->x, &q, f, &u->o, &fl);
    }
    float_set(u, r, code, st);
    if (fl & HW_FLAG_OVERFLOW) st->acc_events++;
    return fl;
}

uint32_t hwi_float_from_xsum(const hwi_unit *u, hwi_reg *r, const hwi_xsum *s, hwi_stat *st)
{
    uint32_t fl = 0;
    float_set(u, r, hwi_xsum_round_float(s, u->a->fmt, &u->o, &fl), st);
    if (fl & HW_FLAG_OVERFLOW) st->acc_events++;
    return fl;
}

/* the checks every float-register kind shares */
int hwi_float_check(hwi_unit *u)
{
    const hw_acc_spec *a = u->a;
    if (!a->fmt) return HW_E_SIZE;
    if (a->rounding < HW_ROUND_RNE || a->rounding > HW_ROUND_RTO) return HW_E_MODE;
    if (a->overflow < HW_OVF_SATURATE || a->overflow > HW_OVF_ERROR) return HW_E_MODE;
    return HW_OK;
}

void hwi_float_zero(const hwi_unit *u, hwi_reg *r)
{
    r->code = hwi_zero_code(0, u->a->fmt);
    hwi_xval_from_code(&r->x, r->code, u->a->fmt);
}

/* register = round(x) (a bias load) */
uint32_t hwi_float_load(const hwi_unit *u, hwi_reg *r, const hw_xval *x, hwi_stat *st)
{
    uint32_t fl = 0;
    double v;
    if (x->cls == HW_XV_NAN) { /* a conversion: a signalling NaN is quieted, INVALID */
        if (hwi_is_snan(x)) fl |= HW_FLAG_INVALID;
        r->code = hwi_float_nan(x, u->a->fmt, &u->o, &fl);
    } else if (x->cls != HW_XV_FINITE)
        r->code = hwi_float_special(0, x->sign, u->a->fmt, &u->o, &fl);
    else if (!x->sig)
        r->code = hwi_zero_code(x->sign, u->a->fmt);
    else
        r->code = hwi_round_pack(x->sign, x->sig, x->exp, 0, u->a->fmt, &u->o, 0, &fl);
    hwi_xval_from_code(&r->x, r->code, u->a->fmt);
    v = hwi_xval_double(&r->x);
    if (v < 0) v = -v;
    if (v > st->max_abs) st->max_abs = v;
    if (fl & HW_FLAG_OVERFLOW) st->acc_events++;
    return fl;
}

int hwi_float_to_xsum(const hwi_unit *u, const hwi_reg *r, hwi_xsum *s)
{
    return hwi_xsum_add_xval(s, &r->x);
}

double hwi_float_double(const hwi_unit *u, const hwi_reg *r) { return xval_double(&r->x); }

void hwi_float_store(const hwi_unit *u, const hwi_reg *r, uint64_t *out, int32_t nlo)
{
    int i;
    out[0] = r->code;
    for (i = 1; i < nlo; i++) out[i] = 0;
}

static int float_mac_exact(const hw_acc_spec *a) { return a->fused; }

/* a tree leaf: the product rounded into the format unless fused */
static int float_leaf(const hwi_unit *u, const hw_xval *p, hwi_xsum *s, hwi_stat *st,
                      uint32_t *flags)
{
    hw_xval q = *p;
    *flags = 0;
    if (!u->a->fused && q.cls == HW_XV_FINITE) {
        uint64_t c = hwi_round_pack(q.sign, q.sig, q.exp, 0, u->a->fmt, &u->o, 0, flags);
        hwi_xval_from_code(&q, c, u->a->fmt);
        if (*flags & HW_FLAG_OVERFLOW) st->acc_events++;
    }
    return hwi_xsum_add_xval(s, &q) != HW_OK ? HW_E_SIZE : HW_OK;
}

const hwi_acc_ops hwi_acc_float_ops = {
    hwi_float_check, hwi_float_zero, hwi_float_mac, hwi_float_load, float_mac_exact, float_leaf,
    NULL, hwi_float_from_xsum, hwi_float_to_xsum, hwi_float_double, hwi_float_store,
};
