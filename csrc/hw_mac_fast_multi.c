/* hw_mac_fast_multi.c -- fast path of the fused multi-term accumulator for
 * narrow float operands: every product is exact in binary64 (<= 53 bits),
 * the windowed terms are integers (in units of 2^(eref - F - 1)) below 2^52
 * and their sum stays below 2^53, so binary64 arithmetic computes every
 * truncation and the group sum exactly; the group result is rounded once by
 * hwi_round_pack, as the engine does. */
#include <math.h>
#include "hw_internal.h"

#define NO_AEXP (-16000) /* alignment exponent of zero operands: never the largest */

/* the IEEE sign of an exact zero group sum (only when every term is zero) */
static int zero_sign(const float *ar, const float *bc, int64_t g0, int64_t g1, const hw_xval *c,
                     int rdn)
{
    int allneg = c->sign, allpos = !c->sign;
    int64_t t;
    for (t = g0; t < g1; t++) {
        int neg = signbit(ar[t]) != signbit(bc[t]);
        allneg &= neg;
        allpos &= !neg;
    }
    return allneg ? 1 : (allpos ? 0 : rdn);
}

/* one group: register r (code + value) <- round(window(products) [+ c]) */
static uint32_t group(const hw_acc_spec *A, const hw_opts *o, hwi_reg *r, const float *ar,
                      const int16_t *ae, const float *bc, const int16_t *be, int64_t g0,
                      int64_t g1)
{
    const hw_format *f = A->fmt;
    const int32_t F = A->window_bits;
    hw_xval c = r->x, part;
    int32_t eref = NO_AEXP;
    int rdn = o->rounding == HW_ROUND_RDN, have = 0;
    int64_t t, S = 0; /* in units of half a window step */
    uint32_t fl = 0;
    if (c.cls != HW_XV_FINITE) return 0; /* an Inf register stays (finite products) */
    for (t = g0; t < g1; t++) {
        int32_t e = (int32_t)ae[t] + be[t];
        eref = e > eref ? e : eref;
    }
    have = eref > NO_AEXP / 2;
    if (!A->c_late && c.sig && (!have || c.aexp > eref)) { eref = c.aexp; have = 1; }
    if (have) {
        const double scale = ldexp(1.0, F - eref); /* exact powers of two */
        if (A->shifted_out == HW_SHIFTED_TRUNCATE) {
            for (t = g0; t < g1; t++) {
                double p = (double)ar[t] * (double)bc[t]; /* exact */
                int64_t q = (int64_t)(fabs(p) * scale);   /* truncation: < 2^51 */
                S += p < 0 ? -q : q;
            }
            S *= 2;
        } else {
            for (t = g0; t < g1; t++) {
                double p = (double)ar[t] * (double)bc[t], h = fabs(p) * scale, fr;
                int64_t q = (int64_t)h;
                fr = h - (double)q;
                if (A->shifted_out == HW_SHIFTED_ROUND) q = 2 * (q + (fr > 0.5 || (fr == 0.5 && (q & 1))));
                else q = 2 * q + (fr != 0.0);
                S += p < 0 ? -q : q;
            }
        }
        if (!A->c_late && c.sig) { /* c joins the window like a product */
            double h = hwi_xval_double(&c), fr;
            int64_t q;
            h = fabs(h) * scale;
            q = (int64_t)h;
            fr = h - (double)q;
            if (A->shifted_out == HW_SHIFTED_ROUND) q = 2 * (q + (fr > 0.5 || (fr == 0.5 && (q & 1))));
            else q = 2 * q + (A->shifted_out == HW_SHIFTED_STICKY && fr != 0.0);
            S += c.sign ? -q : q;
        }
    }
    part.cls = HW_XV_FINITE;
    part.sign = S < 0;
    part.sig = (uint64_t)(S < 0 ? -S : S);
    part.exp = have ? eref - F - 1 : 0;
    part.aexp = 0;
    if (A->c_late && c.sig) {
        r->code = hwi_add_round(&c, &part, f, o, &fl);
    } else if (!part.sig) {
        int nonzero = c.sig != 0 || eref > NO_AEXP / 2;
        r->code = hwi_zero_code(nonzero ? rdn : zero_sign(ar, bc, g0, g1, &c, rdn), f);
    } else {
        r->code = hwi_round_pack(part.sign, part.sig, part.exp, 0, f, o, 0, &fl);
    }
    hwi_xval_from_code(&r->x, r->code, f);
    return fl;
}

int hw_mac_multi_seq(const float *a, const int16_t *a_aexp, const float *bt,
                     const int16_t *b_aexp, const double *init, const double *fin,
                     uint64_t *out, double *max_abs, int32_t *events, int64_t m, int64_t n,
                     int64_t k, const hw_acc_spec *A)
{
    hw_opts o;
    int64_t i, j, g0;
    if (!A || A->kind != HW_ACC_MULTI || !A->fmt || A->fan_in < 1) return HW_E_MODE;
    if (A->window_bits < 0 || A->window_bits + 3 + 64 - __builtin_clzll((uint64_t)A->fan_in + 1) > 53)
        return HW_E_MODE;
    if (A->rounding < HW_ROUND_RNE || A->rounding > HW_ROUND_RTO) return HW_E_MODE;
    if (m < 0 || n < 0 || k < 0 || (m && n && (!out || (k && (!a || !bt || !a_aexp || !b_aexp)))))
        return HW_E_SIZE;
    memset(&o, 0, sizeof(o));
    o.rounding = A->rounding;
    o.overflow = A->overflow;
    o.tininess = HW_TININESS_AFTER;
    for (i = 0; i < m; i++)
        for (j = 0; j < n; j++) {
            hwi_reg r;
            uint32_t fl = 0;
            int64_t ev = 0;
            double mx = 0.0, v;
            const float *ar = a + i * k, *bc = bt + j * k;
            const int16_t *ae = a_aexp + i * k, *be = b_aexp + j * k;
            r.code = hwi_zero_code(0, A->fmt);
            if (init) { /* the register starts at the bias (exact in the format) */
                hw_xval x;
                uint32_t f0 = 0;
                double bv = init[j];
                x.cls = HW_XV_FINITE;
                x.sign = signbit(bv) != 0;
                x.sig = 0;
                x.exp = 0;
                x.aexp = 0;
                if (bv != 0.0) {
                    int e;
                    double mant = frexp(fabs(bv), &e);
                    x.sig = (uint64_t)ldexp(mant, 53);
                    x.exp = e - 53;
                    r.code = hwi_round_pack(x.sign, x.sig, x.exp, 0, A->fmt, &o, 0, &f0);
                } else {
                    r.code = hwi_zero_code(x.sign, A->fmt);
                }
            }
            hwi_xval_from_code(&r.x, r.code, A->fmt);
            mx = fabs(hwi_xval_double(&r.x));
            for (g0 = 0; g0 < k; g0 += A->fan_in) {
                int64_t g1 = g0 + A->fan_in < k ? g0 + A->fan_in : k;
                fl = group(A, &o, &r, ar, ae, bc, be, g0, g1);
                if (fl & HWI_ERR_MASK) return HW_E_OVERFLOW;
                ev += (fl & HW_FLAG_OVERFLOW) != 0;
                v = fabs(hwi_xval_double(&r.x));
                if (v > mx) mx = v;
            }
            if (fin) {
                hw_xval x;
                double bv = fin[j];
                int e;
                x.cls = HW_XV_FINITE;
                x.sign = signbit(bv) != 0;
                x.sig = bv != 0.0 ? (uint64_t)ldexp(frexp(fabs(bv), &e), 53) : 0;
                x.exp = bv != 0.0 ? e - 53 : 0;
                x.aexp = 0;
                fl = 0;
                if (r.x.cls == HW_XV_FINITE) r.code = hwi_add_round(&r.x, &x, A->fmt, &o, &fl);
                if (fl & HWI_ERR_MASK) return HW_E_OVERFLOW;
                ev += (fl & HW_FLAG_OVERFLOW) != 0;
                hwi_xval_from_code(&r.x, r.code, A->fmt);
                v = fabs(hwi_xval_double(&r.x));
                if (v > mx) mx = v;
            }
            out[i * n + j] = r.code;
            if (max_abs) max_abs[i * n + j] = mx;
            if (events) events[i * n + j] = (int32_t)ev;
        }
    return HW_OK;
}
