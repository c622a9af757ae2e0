/* hw_acc_fixed.c -- integer and fixed-point accumulators (any width 2..4160,
 * Kulisch included): products onto the LSB grid (truncate or a rounding
 * mode), exact adds, wrap / saturate / error on overflow; one add per
 * product, or (spec fan_in > 1, a dot-product unit) one per group. */
#include <math.h>
#include "hw_internal.h"

/* |round((-1)^sign * sig * 2^sh)| by mode (HW_ROUND_RNE..RTO or HWI_BELOW_FLOOR,
 * the floor of the signed value).  Returns bit 1 when the magnitude would be
 * >= 2^125 (then *mag = 0), bit 2 when inexact. */
int hwi_scale_round(int sign, uint64_t sig, int32_t sh, int mode, hwi_u128 *mag)
{
    uint64_t K, rem;
    int g, t, s, inc;
    *mag = 0;
    if (!sig) return 0;
    if (sh >= 0) {
        if (hwi_msb64(sig) + (int64_t)sh >= 125) return 1;
        *mag = (hwi_u128)sig << sh;
        return 0;
    }
    s = sh < -200 ? 200 : -sh;
    if (s >= 64) {
        K = 0;
        rem = sig;
        g = s == 64 ? (int)(sig >> 63) : 0;
        t = s == 64 ? (sig & ~(1ull << 63)) != 0 : 1;
    } else {
        K = sig >> s;
        rem = sig & ((1ull << s) - 1);
        g = (int)((sig >> (s - 1)) & 1);
        t = (rem & ((1ull << (s - 1)) - 1)) != 0;
    }
    if (!rem) { *mag = K; return 0; }
    if (mode == HWI_BELOW_FLOOR) inc = sign;
    else if (mode == HW_ROUND_RTO) { K |= 1; inc = 0; }
    else inc = hwi_round_increment(mode, sign, (int)(K & 1), g, t);
    *mag = (hwi_u128)K + (hwi_u128)(unsigned)inc;
    return 2;
}

static inline int width128(hwi_i128 s)
{
    hwi_u128 t = s < 0 ? ~(hwi_u128)s : (hwi_u128)s;
    return t ? hwi_msb128(t) + 2 : 1;
}

static inline int64_t sext(uint64_t x, int32_t w)
{
    uint64_t m = w >= 64 ? ~0ull : (1ull << w) - 1;
    x &= m;
    if (w < 64 && ((x >> (w - 1)) & 1)) x |= ~m;
    return (int64_t)x;
}

static int width_limbs(const uint64_t *w, int nl)
{
    uint64_t top = (w[nl - 1] >> 63) ? ~0ull : 0;
    int i;
    for (i = nl - 1; i >= 0; i--) {
        uint64_t x = w[i] ^ top;
        if (x) return 64 * i + hwi_msb64(x) + 2;
    }
    return 1;
}

static double limbs_double(const uint64_t *w, int nl, int32_t e)
{
    uint64_t mag[HWI_FX_LIMBS + 40], c = 1, top, st = 0;
    int neg = (int)(w[nl - 1] >> 63), i, P = -1, bi;
    double d;
    for (i = 0; i < nl; i++) {
        mag[i] = neg ? ~w[i] + c : w[i];
        if (neg) c = c && mag[i] == 0;
        if (mag[i]) P = i;
    }
    if (P < 0) return 0.0;
    bi = hwi_msb64(mag[P]);
    top = bi == 63 ? mag[P] : (mag[P] << (63 - bi)) | (P > 0 ? mag[P - 1] >> (bi + 1) : 0);
    if (P > 0 && bi < 63) st = (mag[P - 1] << (63 - bi)) != 0;
    for (i = 0; i < P - 1; i++) st |= mag[i] != 0;
    if (P > 0 && bi == 63) st |= mag[P - 1] != 0;
    d = ldexp((double)(top | st), e + 64 * P + bi - 63);
    return neg ? -d : d;
}

void hwi_fixed_zero(const hwi_unit *u, hwi_reg *r)
{
    r->v = 0;
    r->code = 0;
    if (u->nl) memset(r->w, 0, sizeof(uint64_t) * (size_t)u->nl);
}

static uint32_t narrow_set(const hwi_unit *u, hwi_reg *r, hwi_i128 s, hwi_stat *st)
{
    const int32_t W = u->a->width;
    int w = width128(s);
    hwi_u128 mag = s < 0 ? -(hwi_u128)s : (hwi_u128)s;
    int64_t mx = (int64_t)(u->mask >> 1);
    if (mag > st->umax[u->idx]) st->umax[u->idx] = mag;
    if (w > st->wneed) st->wneed = w;
    if (w <= W) {
        r->v = (int64_t)s;
        r->code = (uint64_t)r->v & u->mask;
        return 0;
    }
    st->acc_events++;
    switch (u->a->overflow) {
    case HW_OVF_WRAP: r->v = sext((uint64_t)s, W); break;
    case HW_OVF_SATURATE: r->v = s < 0 ? -mx - 1 : mx; break;
    default: return HW_FLAG_OVERFLOW | HWI_ERR_OVERFLOW;
    }
    r->code = (uint64_t)r->v & u->mask;
    return HW_FLAG_OVERFLOW;
}

/* set a register from the exact two's-complement value t of nlt limbs (may
 * alias r->w): statistics, then the overflow policy */
static uint32_t limbs_set(const hwi_unit *u, hwi_reg *r, const uint64_t *t, int nlt,
                          hwi_stat *st)
{
    const int32_t W = u->a->width, F = u->a->frac_bits;
    int w = width_limbs(t, nlt);
    int neg = (int)(t[nlt - 1] >> 63), i;
    double a = fabs(limbs_double(t, nlt, -F));
    if (a > st->max_abs) st->max_abs = a;
    if (w > st->wneed) st->wneed = w;
    if (w <= W) {
        if (!u->nl) {
            r->v = (int64_t)t[0];
            r->code = t[0] & u->mask;
        } else {
            for (i = 0; i < u->nl; i++) r->w[i] = i < nlt ? t[i] : (neg ? ~0ull : 0);
            r->code = r->w[0];
        }
        return 0;
    }
    st->acc_events++;
    if (u->a->overflow == HW_OVF_ERROR) return HW_FLAG_OVERFLOW | HWI_ERR_OVERFLOW;
    if (!u->nl) {
        int64_t mx = (int64_t)(u->mask >> 1);
        if (u->a->overflow == HW_OVF_WRAP) r->v = sext(t[0], W);
        else r->v = neg ? -mx - 1 : mx;
        r->code = (uint64_t)r->v & u->mask;
        return HW_FLAG_OVERFLOW;
    }
    {
        int li = (W - 1) >> 6, bi = (W - 1) & 63, bit;
        uint64_t below = bi == 63 ? ~0ull : (1ull << (bi + 1)) - 1;
        for (i = 0; i < u->nl; i++) r->w[i] = i < nlt ? t[i] : (neg ? ~0ull : 0);
        if (u->a->overflow == HW_OVF_WRAP) {
            bit = (int)((r->w[li] >> bi) & 1);
        } else { /* saturate: 0111..1 or 1000..0 in W bits */
            bit = neg;
            for (i = 0; i < li; i++) r->w[i] = neg ? 0 : ~0ull;
            r->w[li] = neg ? (1ull << bi) : ((1ull << bi) - 1);
        }
        r->w[li] = bit ? (r->w[li] | ~below) : (r->w[li] & below);
        for (i = li + 1; i < u->nl; i++) r->w[i] = bit ? ~0ull : 0;
        r->code = r->w[0];
    }
    return HW_FLAG_OVERFLOW;
}

uint32_t hwi_fixed_mac(const hwi_unit *u, hwi_reg *r, const hw_xval *p, hwi_stat *st)
{
    const int32_t F = u->a->frac_bits;
    int32_t sh = p->exp + F;
    hwi_u128 mag;
    int rc;
    uint32_t fl;
    if (p->cls != HW_XV_FINITE) return HWI_ERR_NAN;
    rc = hwi_scale_round(p->sign, p->sig, sh, u->a->below_lsb, &mag);
    fl = (rc & 2) ? HW_FLAG_INEXACT : 0;
    if (!(rc & 1)) {
        if (!u->nl)
            return fl | narrow_set(u, r, (hwi_i128)r->v + (p->sign ? -(hwi_i128)mag : (hwi_i128)mag),
                                   st);
        hwi_limbs_add(r->w, u->nl, p->sign, (uint64_t)mag, 0);
        hwi_limbs_add(r->w, u->nl, p->sign, (uint64_t)(mag >> 64), 64);
        return fl | limbs_set(u, r, r->w, u->nl, st);
    }
    /* |term| >= 2^125 LSBs: form the exact sum in a local buffer */
    {
        uint64_t t[HWI_FX_LIMBS + 40];
        int64_t hw = hwi_msb64(p->sig) + (int64_t)sh + 2;
        int64_t need = (hw > u->a->width ? hw : u->a->width) + 2;
        int nlt = (int)((need + 63) / 64) + 1, i;
        if (nlt > HWI_FX_LIMBS + 40) return fl | HWI_ERR_OVERFLOW; /* beyond 6700 bits */
        for (i = 0; i < nlt; i++) {
            uint64_t ext = (u->nl ? (r->w[u->nl - 1] >> 63) : (uint64_t)(r->v < 0)) ? ~0ull : 0;
            t[i] = u->nl ? (i < u->nl ? r->w[i] : ext) : (i == 0 ? (uint64_t)r->v : ext);
        }
        hwi_limbs_add(t, nlt, p->sign, p->sig, sh);
        return fl | limbs_set(u, r, t, nlt, st);
    }
}

uint32_t hwi_fixed_leaf(const hwi_unit *u, const hw_xval *p, hwi_xsum *s)
{
    hwi_u128 mag;
    int rc;
    hw_xval x;
    if (p->cls != HW_XV_FINITE) return HWI_ERR_NAN;
    rc = hwi_scale_round(p->sign, p->sig, p->exp + u->a->frac_bits, u->a->below_lsb, &mag);
    if (rc & 1) return hwi_xsum_add_xval(s, p) == HW_OK ? 0 : HWI_ERR_OVERFLOW;
    x = *p;
    x.sig = (uint64_t)mag;
    x.exp = -u->a->frac_bits;
    if (hwi_xsum_add_xval(s, &x) != HW_OK) return HWI_ERR_OVERFLOW;
    x.sig = (uint64_t)(mag >> 64);
    x.exp += 64;
    if (hwi_xsum_add_xval(s, &x) != HW_OK) return HWI_ERR_OVERFLOW;
    return (rc & 2) ? HW_FLAG_INEXACT : 0;
}

uint32_t hwi_fixed_from_xsum(const hwi_unit *u, hwi_reg *r, const hwi_xsum *s, hwi_stat *st)
{
    uint64_t t[HWI_FX_LIMBS + 40];
    int huge, nlt = s->nl + 1;
    if (s->nan || s->pinf || s->ninf) return HWI_ERR_NAN;
    if (nlt > HWI_FX_LIMBS + 40) return HWI_ERR_OVERFLOW;
    hwi_xsum_to_grid(s, -u->a->frac_bits, u->a->below_lsb, t, nlt, &huge);
    if (!u->nl && width_limbs(t, nlt) <= 127) {
        hwi_i128 v = (hwi_i128)(((hwi_u128)t[1] << 64) | t[0]);
        return narrow_set(u, r, v, st);
    }
    return limbs_set(u, r, t, nlt, st);
}

int hwi_fixed_to_xsum(const hwi_unit *u, const hwi_reg *r, hwi_xsum *s)
{
    hw_xval x;
    if (u->nl) return hwi_xsum_add_limbs(s, r->w, u->nl, -u->a->frac_bits);
    hwi_xval_from_i64(&x, r->v, u->a->frac_bits);
    return hwi_xsum_add_xval(s, &x);
}

double hwi_fixed_double(const hwi_unit *u, const hwi_reg *r)
{
    if (u->nl) return limbs_double(r->w, u->nl, -u->a->frac_bits);
    return ldexp((double)r->v, -u->a->frac_bits);
}

static int fixed_init(hwi_unit *u)
{
    const hw_acc_spec *a = u->a;
    if (a->width < 2 || a->width > 64 * HWI_FX_LIMBS - 2) return HW_E_SIZE;
    if (a->overflow != HW_OVF_WRAP && a->overflow != HW_OVF_SATURATE &&
        a->overflow != HW_OVF_ERROR) return HW_E_MODE;
    if (a->below_lsb != HWI_BELOW_FLOOR &&
        (a->below_lsb < HW_ROUND_RNE || a->below_lsb > HW_ROUND_RTO || a->below_lsb == HW_ROUND_SR))
        return HW_E_MODE;
    if (a->width > 64) u->nl = (a->width + 2 + 63) / 64;
    u->mask = a->width >= 64 ? ~0ull : (1ull << a->width) - 1;
    return HW_OK;
}

static int fixed_mac_exact(const hw_acc_spec *a) { return 1; }

static int fixed_leaf_op(const hwi_unit *u, const hw_xval *p, hwi_xsum *s, hwi_stat *st,
                         uint32_t *flags)
{
    *flags = hwi_fixed_leaf(u, p, s);
    return HW_OK;
}

static void fixed_store(const hwi_unit *u, const hwi_reg *r, uint64_t *out, int32_t nlo)
{
    int i;
    for (i = 0; i < nlo; i++) {
        if (!u->nl) out[i] = i ? 0 : r->code; /* narrow: the code */
        else out[i] = i < u->nl ? r->w[i] : ((r->w[u->nl - 1] >> 63) ? ~0ull : 0);
    }
}

/* ---- a register fed by a dot-product unit (spec fan_in > 1) ---------- */
static int fixed_group_init(hwi_unit *u)
{
    if (u->a->fan_in < 2 || u->a->fan_in > 65536) return HW_E_SIZE;
    return fixed_init(u);
}

/* r <- r + (exact sum of the n products, each on the grid): one add, one
 * overflow check and one statistics update for the whole group */
static uint32_t fixed_group(const hwi_unit *u, hwi_reg *r, const hw_xval *p, int n,
                            hwi_xsum *xs, double *exact, hwi_stat *st)
{
    uint32_t fl = 0, f;
    int i;
    *exact = 0.0;
    hwi_xsum_clear(xs);
    if (hwi_fixed_to_xsum(u, r, xs) != HW_OK) return HWI_ERR_OVERFLOW;
    for (i = 0; i < n; i++) {
        f = hwi_fixed_leaf(u, &p[i], xs);
        fl |= f;
        if (f & HWI_ERR_MASK) return fl;
    }
    *exact = hwi_xsum_to_double(xs);
    return fl | hwi_fixed_from_xsum(u, r, xs, st);
}

/* no single MAC step (the engine then steps in groups) and no adder tree */
const hwi_acc_ops hwi_acc_fixed_group_ops = {
    fixed_group_init, hwi_fixed_zero, NULL, NULL, fixed_mac_exact, NULL,
    fixed_group, hwi_fixed_from_xsum, hwi_fixed_to_xsum, hwi_fixed_double, fixed_store,
};

const hwi_acc_ops hwi_acc_fixed_ops = {
    fixed_init, hwi_fixed_zero, hwi_fixed_mac, hwi_fixed_mac, fixed_mac_exact, fixed_leaf_op,
    NULL, hwi_fixed_from_xsum, hwi_fixed_to_xsum, hwi_fixed_double, fixed_store,
};
