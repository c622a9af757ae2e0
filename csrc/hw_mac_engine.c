/* hw_mac_engine.c -- hw_mac_gemm(): the general MAC engine.  One output at a
 * time, every step in the declared order: products (exact or rounded),
 * accumulator adds, adder-tree nodes, chunk sums into an outer accumulator,
 * K-tiles with partial sums encoded / decoded, bias; statistics and an
 * optional per-step trace. */
#include <math.h>
#include <stdlib.h>
#include "hw_internal.h"

#define NXS (HWI_TREE_LEVELS + 3)
#define XS_TMP (HWI_TREE_LEVELS)     /* scratch sums after the tree levels */

typedef struct eng {
    const hw_mac_spec *s;
    hwi_unit acc, outer, adder;
    hw_opts prod_o, psum_o;
    hwi_xsum xs[NXS];
    int32_t cnt[HWI_TREE_LEVELS];
    int64_t kst[HWI_TREE_LEVELS];
    hw_xval *grp;
    const hw_xval *ar, *bc, *bias;
    int64_t a_ks, b_ks, K;
    hwi_stat st;
    hw_mac_step *tr;
    int64_t tcap, tlen;
    int32_t err_unit;
    int64_t err_k;
    uint32_t flags;   /* every output's flags */
    uint32_t oflags;  /* this output's flags */
    uint32_t pend;    /* flags of steps without a trace record (products, tree
                       * leaves): joined to the next record */
} eng;

static void set_opts(hw_opts *o, int rounding, int overflow, int nan_rule)
{
    memset(o, 0, sizeof(*o));
    o->rounding = rounding;
    o->overflow = overflow;
    o->tininess = HW_TININESS_AFTER;
    o->nan_policy = HW_NAN_ERROR;
    o->nan_rule = nan_rule;
}

static int unit_init(hwi_unit *u, const hw_acc_spec *a, int idx, int nan_rule)
{
    u->a = a;
    u->ops = hwi_acc_ops_for(a);
    u->idx = idx;
    u->nl = 0;
    u->mask = 0;
    set_opts(&u->o, a->rounding, a->overflow, nan_rule);
    return u->ops ? u->ops->init(u) : HW_E_MODE;
}

static int fail(eng *E, uint32_t fl, int unit, int64_t k)
{
    E->flags |= fl & 0xFFu;
    E->oflags |= fl & 0xFFu;
    if (!(fl & HWI_ERR_MASK)) return HW_OK;
    E->err_unit = unit;
    E->err_k = k;
    return (fl & HWI_ERR_NAN) ? HW_E_NAN : HW_E_OVERFLOW;
}

static int size_fail(eng *E, int unit, int64_t k)
{
    E->err_unit = unit;
    E->err_k = k;
    return HW_E_SIZE;
}

/* ---- trace ---------------------------------------------------------- */
typedef struct snap { uint64_t code; double v; } snap;

static snap take(const eng *E, const hwi_unit *u, const hwi_reg *r)
{
    snap s = {0, 0.0};
    if (!E->tr || !u) return s;
    s.code = r->code;
    s.v = u->ops->to_double(u, r);
    return s;
}

static void rec(eng *E, int kind, int unit, int64_t k0, int64_t k1, const hw_xval *in,
                snap before, snap after, double exact, uint32_t fl)
{
    hw_mac_step *t;
    fl |= E->pend;
    E->pend = 0;
    if (!E->tr || E->tlen >= E->tcap) { if (E->tr) E->tlen++; return; }
    t = &E->tr[E->tlen++];
    memset(t, 0, sizeof(*t));
    t->kind = kind;
    t->unit = unit;
    t->k0 = k0;
    t->k1 = k1;
    if (in) t->in = *in;
    t->before = before.code;
    t->before_v = before.v;
    t->after = after.code;
    t->after_v = after.v;
    t->exact_v = exact;
    t->flags = fl;
}

/* exact value of register r (+) x, for the trace only */
static double exact_sum(eng *E, const hwi_unit *u, const hwi_reg *r, const hw_xval *x)
{
    hwi_xsum *t = &E->xs[XS_TMP + 2];
    if (!E->tr) return 0.0;
    hwi_xsum_clear(t);
    if (r) u->ops->to_xsum(u, r, t);
    if (x) hwi_xsum_add_xval(t, x);
    return hwi_xsum_to_double(t);
}

/* ---- steps ---------------------------------------------------------- */
static int product(eng *E, int64_t k, hw_xval *p)
{
    uint32_t fl = 0;
    if (hwi_mac_product(&E->ar[k * E->a_ks], &E->bc[k * E->b_ks], p, E->s->nan_rule, &fl) != HW_OK)
        return size_fail(E, 4, k);
    if (E->s->product.kind != HW_NUM_NONE) {
        hw_xval q;
        uint64_t code;
        fl |= hwi_num_from_xval(&E->s->product, &E->prod_o, p, &code, &q);
        *p = q;
    }
    E->pend |= fl & 0xFFu;
    return fail(E, fl, 4, k);
}

/* r = u(r (+) x (+) xv), one rounding / overflow check; load: r = u(x (+) xv) */
static int add_exact_l(eng *E, const hwi_unit *u, hwi_reg *r, const hwi_xsum *x,
                       const hw_xval *xv, int kind, int64_t k0, int64_t k1, int load)
{
    hwi_xsum *t = &E->xs[XS_TMP];
    snap b = take(E, u, r);
    uint32_t fl;
    hwi_xsum_clear(t);
    if (!load && u->ops->to_xsum(u, r, t) != HW_OK) return size_fail(E, u->idx, k1);
    if (x && hwi_xsum_add_xsum(t, x) != HW_OK) return size_fail(E, u->idx, k1);
    if (xv && hwi_xsum_add_xval(t, xv) != HW_OK) return size_fail(E, u->idx, k1);
    fl = u->ops->from_xsum(u, r, t, &E->st);
    rec(E, kind, u->idx, k0, k1, xv, b, take(E, u, r), E->tr ? hwi_xsum_to_double(t) : 0.0, fl);
    return fail(E, fl, u->idx, k1);
}

static int add_exact(eng *E, const hwi_unit *u, hwi_reg *r, const hwi_xsum *x,
                     const hw_xval *xv, int kind, int64_t k0, int64_t k1)
{
    return add_exact_l(E, u, r, x, xv, kind, k0, k1, 0);
}

static int reduce_seq(eng *E, const hwi_unit *u, hwi_reg *r, int64_t k0, int64_t k1)
{
    int64_t k;
    int rc;
    if (u->ops->group) {
        int64_t g0;
        for (g0 = k0; g0 < k1; g0 += u->a->fan_in) {
            int64_t g1 = g0 + u->a->fan_in < k1 ? g0 + u->a->fan_in : k1;
            snap b = take(E, u, r);
            double ex;
            uint32_t fl;
            for (k = g0; k < g1; k++)
                if ((rc = product(E, k, &E->grp[k - g0])) != HW_OK) return rc;
            fl = u->ops->group(u, r, E->grp, (int)(g1 - g0), &E->xs[XS_TMP + 1], &ex, &E->st);
            rec(E, HW_STEP_GROUP, u->idx, g0, g1, NULL, b, take(E, u, r), ex, fl);
            if ((rc = fail(E, fl, u->idx, g1 - 1)) != HW_OK) return rc;
        }
        return HW_OK;
    }
    for (k = k0; k < k1; k++) {
        hw_xval p;
        snap b;
        double ex;
        uint32_t fl;
        if ((rc = product(E, k, &p)) != HW_OK) return rc;
        b = take(E, u, r);
        ex = exact_sum(E, u, r, &p);
        fl = u->ops->mac(u, r, &p, &E->st);
        rec(E, HW_STEP_MAC, u->idx, k, k + 1, &p, b, take(E, u, r), ex, fl);
        if ((rc = fail(E, fl, u->idx, k)) != HW_OK) return rc;
    }
    return HW_OK;
}

/* ---- adder tree ----------------------------------------------------- */
static int tree_node(eng *E, int l, int64_t kend);

static int tree_in(eng *E, int l, int64_t k0)
{
    if (l >= HWI_TREE_LEVELS - 1) return HW_E_SIZE;
    if (!E->cnt[l]) { hwi_xsum_clear(&E->xs[l]); E->kst[l] = k0; }
    E->cnt[l]++;
    return HW_OK;
}

static int tree_push_reg(eng *E, int l, const hwi_reg *r, int64_t k0, int64_t kend)
{
    if (tree_in(E, l, k0) != HW_OK || E->acc.ops->to_xsum(&E->acc, r, &E->xs[l]) != HW_OK)
        return size_fail(E, 0, kend);
    if (E->cnt[l] == E->s->order_param) return tree_node(E, l, kend);
    return HW_OK;
}

static int tree_node(eng *E, int l, int64_t kend)
{
    hwi_reg r;
    uint32_t fl = E->acc.ops->from_xsum(&E->acc, &r, &E->xs[l], &E->st);
    snap none = {0, 0.0};
    int64_t k0 = E->kst[l];
    int rc;
    rec(E, HW_STEP_NODE, 0, k0, kend, NULL, none, take(E, &E->acc, &r),
        E->tr ? hwi_xsum_to_double(&E->xs[l]) : 0.0, fl);
    if ((rc = fail(E, fl, 0, kend - 1)) != HW_OK) return rc;
    E->cnt[l] = 0;
    return tree_push_reg(E, l + 1, &r, k0, kend);
}

static int tree_leaf(eng *E, int64_t k)
{
    const hwi_unit *u = &E->acc;
    hw_xval p;
    uint32_t fl = 0;
    int rc;
    if ((rc = product(E, k, &p)) != HW_OK) return rc;
    if (tree_in(E, 0, k) != HW_OK) return size_fail(E, 0, k);
    if (u->ops->leaf(u, &p, &E->xs[0], &E->st, &fl) != HW_OK) return size_fail(E, 0, k);
    E->pend |= fl & 0xFFu;
    if ((rc = fail(E, fl, 0, k)) != HW_OK) return rc;
    if (E->cnt[0] == E->s->order_param) return tree_node(E, 0, k + 1);
    return HW_OK;
}

static int reduce_tree(eng *E, hwi_reg *r, int64_t k0, int64_t k1)
{
    int64_t k;
    int l, rc;
    if (k1 <= k0) return HW_OK;
    memset(E->cnt, 0, sizeof(E->cnt));
    for (k = k0; k < k1; k++)
        if ((rc = tree_leaf(E, k)) != HW_OK) return rc;
    for (l = 0; l < HWI_TREE_LEVELS - 1; l++) {
        int h, higher = 0;
        if (!E->cnt[l]) continue;
        for (h = l + 1; h < HWI_TREE_LEVELS; h++) higher |= E->cnt[h] != 0;
        if (!higher && E->cnt[l] == 1)
            return add_exact(E, &E->acc, r, &E->xs[l], NULL, HW_STEP_NODE, k0, k1);
        if (E->cnt[l] == 1) { /* a lone item passes up unchanged */
            if (tree_in(E, l + 1, E->kst[l]) != HW_OK ||
                hwi_xsum_add_xsum(&E->xs[l + 1], &E->xs[l]) != HW_OK) return size_fail(E, 0, k1);
            E->cnt[l] = 0;
            if (E->cnt[l + 1] == E->s->order_param && (rc = tree_node(E, l + 1, k1)) != HW_OK)
                return rc;
        } else if ((rc = tree_node(E, l, k1)) != HW_OK) {
            return rc;
        }
    }
    return size_fail(E, 0, k1);
}

/* ---- orders, tiles, bias -------------------------------------------- */
static int reduce(eng *E, hwi_reg *r, int64_t k0, int64_t k1)
{
    if (E->s->order == HW_ORDER_TREE) return reduce_tree(E, r, k0, k1);
    if (E->s->order == HW_ORDER_CHUNKED) {
        int64_t c0, C = E->s->order_param;
        int rc;
        for (c0 = k0; c0 < k1; c0 += C) {
            int64_t c1 = c0 + C < k1 ? c0 + C : k1;
            hwi_reg c;
            hwi_xsum *t = &E->xs[XS_TMP + 1];
            E->acc.ops->zero(&E->acc, &c);
            if ((rc = reduce_seq(E, &E->acc, &c, c0, c1)) != HW_OK) return rc;
            hwi_xsum_clear(t);
            if (E->acc.ops->to_xsum(&E->acc, &c, t) != HW_OK) return size_fail(E, 1, c1);
            if ((rc = add_exact(E, &E->outer, r, t, NULL, HW_STEP_CHUNK, c0, c1)) != HW_OK)
                return rc;
        }
        return HW_OK;
    }
    return reduce_seq(E, &E->acc, r, k0, k1);
}

/* encode register r of unit u into the psum format; *dec gets its value */
static int psum_store(eng *E, const hwi_unit *u, const hwi_reg *r, hw_xval *dec,
                      int64_t k0, int64_t k1)
{
    hwi_xsum *t = &E->xs[XS_TMP + 1];
    uint64_t code = 0;
    uint32_t fl;
    snap b = take(E, u, r), a = {0, 0.0};
    hwi_xsum_clear(t);
    if (u->ops->to_xsum(u, r, t) != HW_OK) return size_fail(E, 3, k1);
    fl = hwi_num_from_xsum(&E->s->psum, &E->psum_o, t, &code, dec);
    if (fl & HW_FLAG_OVERFLOW) E->st.psum_events++;
    a.code = code;
    a.v = E->tr ? hwi_xval_double(dec) : 0.0;
    rec(E, HW_STEP_PSUM_STORE, 3, k0, k1, NULL, b, a, b.v, fl);
    return fail(E, fl, 3, k1 - 1);
}

static int run_output(eng *E, int64_t j, hwi_reg *fin, const hwi_unit **fu)
{
    const hw_mac_spec *s = E->s;
    const hwi_unit *top = s->order == HW_ORDER_CHUNKED ? &E->outer : &E->acc;
    const hw_xval *bias = (E->bias && s->bias != HW_BIAS_NONE) ? &E->bias[j] : NULL;
    int64_t K = E->K, T = s->tiles != HW_TILES_NONE ? s->tile : (K > 0 ? K : 1), t0;
    int rc;
    if (s->tiles == HW_TILES_SEPARATE) {
        *fu = &E->adder;
        E->adder.ops->zero(&E->adder, fin);
        if (bias && s->bias == HW_BIAS_INIT &&
            (rc = add_exact_l(E, &E->adder, fin, NULL, bias, HW_STEP_BIAS, 0, 0, 1)) != HW_OK) return rc;
        for (t0 = 0; t0 < K; t0 += T) {
            int64_t t1 = t0 + T < K ? t0 + T : K;
            hwi_reg r;
            hw_xval dec;
            top->ops->zero(top, &r);
            if ((rc = reduce(E, &r, t0, t1)) != HW_OK) return rc;
            if ((rc = psum_store(E, top, &r, &dec, t0, t1)) != HW_OK) return rc;
            if ((rc = add_exact(E, &E->adder, fin, NULL, &dec, HW_STEP_PSUM_ADD, t0, t1)) != HW_OK)
                return rc;
        }
    } else {
        *fu = top;
        top->ops->zero(top, fin);
        if (bias && s->bias == HW_BIAS_INIT &&
            (rc = add_exact_l(E, top, fin, NULL, bias, HW_STEP_BIAS, 0, 0, 1)) != HW_OK) return rc;
        for (t0 = 0; t0 < K; t0 += T) {
            int64_t t1 = t0 + T < K ? t0 + T : K;
            if ((rc = reduce(E, fin, t0, t1)) != HW_OK) return rc;
            if (s->tiles == HW_TILES_RELOAD && t1 < K) {
                hw_xval dec;
                hwi_xsum *t = &E->xs[XS_TMP + 1];
                snap b;
                uint32_t fl;
                if ((rc = psum_store(E, top, fin, &dec, t0, t1)) != HW_OK) return rc;
                b = take(E, top, fin);
                hwi_xsum_clear(t);
                if (hwi_xsum_add_xval(t, &dec) != HW_OK) return size_fail(E, top->idx, t1);
                fl = top->ops->from_xsum(top, fin, t, &E->st);
                rec(E, HW_STEP_PSUM_LOAD, top->idx, t0, t1, &dec, b, take(E, top, fin),
                    hwi_xval_double(&dec), fl);
                if ((rc = fail(E, fl, top->idx, t1 - 1)) != HW_OK) return rc;
            }
        }
    }
    if (bias && s->bias == HW_BIAS_FINAL)
        return add_exact(E, *fu, fin, NULL, bias, HW_STEP_BIAS, K, K);
    return HW_OK;
}

static int check_num(const hw_num_spec *ns)
{
    if (ns->kind == HW_NUM_NONE) return HW_OK;
    if (ns->rounding < HW_ROUND_RNE || ns->rounding > HW_ROUND_RTO) return HW_E_MODE;
    if (ns->kind == HW_NUM_FLOAT) {
        if (!ns->fmt) return HW_E_SIZE;
        if (ns->overflow < HW_OVF_SATURATE || ns->overflow > HW_OVF_ERROR) return HW_E_MODE;
        if (ns->overflow == HW_OVF_SPECIAL && !ns->fmt->has_inf && !ns->fmt->has_nan) return HW_E_MODE;
        return HW_OK;
    }
    if (ns->kind != HW_NUM_FIXED || ns->bits < 1 || ns->bits > 64) return HW_E_SIZE;
    if (ns->overflow != HW_OVF_SATURATE && ns->overflow != HW_OVF_WRAP &&
        ns->overflow != HW_OVF_ERROR) return HW_E_MODE;
    return HW_OK;
}

static int eng_init(eng *E, const hw_mac_spec *s)
{
    int rc, i;
    memset(E, 0, sizeof(*E));
    E->s = s;
    if (s->nan_rule & ~(HW_NANR_PROPAGATE | HW_NANR_PREFER_SNAN | HW_NANR_NEGATIVE)) return HW_E_MODE;
    if ((rc = unit_init(&E->acc, &s->acc, 0, s->nan_rule)) != HW_OK) return rc;
    if (s->order == HW_ORDER_CHUNKED && (rc = unit_init(&E->outer, &s->outer, 1, s->nan_rule)) != HW_OK)
        return rc;
    if (s->tiles == HW_TILES_SEPARATE && (rc = unit_init(&E->adder, &s->adder, 2, s->nan_rule)) != HW_OK)
        return rc;
    if (s->order < HW_ORDER_SEQUENTIAL || s->order > HW_ORDER_CHUNKED) return HW_E_MODE;
    if (s->order != HW_ORDER_SEQUENTIAL && s->order_param < (s->order == HW_ORDER_TREE ? 2 : 1))
        return HW_E_SIZE;
    /* kinds that add in groups: only as the accumulator of a sequential order */
    if (s->order == HW_ORDER_TREE && !E->acc.ops->leaf) return HW_E_MODE;
    if (s->order == HW_ORDER_CHUNKED && E->outer.ops->group) return HW_E_MODE;
    if (s->tiles == HW_TILES_SEPARATE && E->adder.ops->group) return HW_E_MODE;
    if (s->tiles < HW_TILES_NONE || s->tiles > HW_TILES_SEPARATE) return HW_E_MODE;
    if (s->tiles != HW_TILES_NONE && (s->tile < 1 || s->psum.kind == HW_NUM_NONE)) return HW_E_SIZE;
    if ((rc = check_num(&s->product)) != HW_OK || (rc = check_num(&s->psum)) != HW_OK) return rc;
    if (s->xs_limbs < 1 || s->xs_limbs > 96) return HW_E_SIZE;
    set_opts(&E->prod_o, s->product.rounding, s->product.overflow, s->nan_rule);
    set_opts(&E->psum_o, s->psum.rounding, s->psum.overflow, s->nan_rule);
    E->grp = NULL;
    E->xs[0].w = (uint64_t *)malloc(sizeof(uint64_t) * (size_t)s->xs_limbs * NXS);
    if (!E->xs[0].w) return HW_E_NOMEM;
    for (i = 0; i < NXS; i++) {
        E->xs[i].w = E->xs[0].w + (size_t)i * (size_t)s->xs_limbs;
        E->xs[i].lo = s->xs_lo;
        E->xs[i].nl = s->xs_limbs;
        hwi_xsum_clear(&E->xs[i]);
    }
    if (E->acc.ops->group) {
        E->grp = (hw_xval *)malloc(sizeof(hw_xval) * (size_t)s->acc.fan_in);
        if (!E->grp) { free(E->xs[0].w); return HW_E_NOMEM; }
    }
    return HW_OK;
}

static double stat_max(const eng *E)
{
    double m = E->st.max_abs, d;
    const hwi_unit *us[3];
    int i;
    us[0] = &E->acc;
    us[1] = &E->outer;
    us[2] = &E->adder;
    for (i = 0; i < 3; i++) {
        if (!E->st.umax[i] || !us[i]->a) continue;
        d = ldexp((double)E->st.umax[i], -us[i]->a->frac_bits);
        if (d > m) m = d;
    }
    return m;
}

/* Up to 4 outputs of row i, columns j.. interleaved (sequential order only).
 * HW_OK, or nonzero when one of them failed (the caller recomputes them). */
static int seq_group(eng *E, const hw_mac_spec *s, const hw_xval *ar, const hw_xval *b0,
                     int64_t b_cs, int64_t b_ks, int64_t kk, const hw_xval *bias, int64_t j,
                     int cnt, uint64_t *out, int32_t nlo, hw_mac_stats *st, int64_t o)
{
    const hw_xval *bc[4], *bz[4];
    hwi_reg regs[4];
    hwi_stat sts[4];
    uint32_t fls[4] = {0, 0, 0, 0};
    int c;
    memset(sts, 0, sizeof(sts));
    for (c = 0; c < cnt; c++) {
        bc[c] = b0 + (j + c) * b_cs;
        bz[c] = (bias && s->bias != HW_BIAS_NONE) ? &bias[j + c] : NULL;
    }
    if (hwi_seq_group(&E->acc, &s->product, &E->prod_o, ar, E->a_ks, bc, b_ks, kk, bz, s->bias,
                      cnt, regs, sts, fls))
        return HW_E_MODE;
    for (c = 0; c < cnt; c++) {
        E->acc.ops->store(&E->acc, &regs[c], out + c * nlo, nlo);
        E->flags |= fls[c];
        if (st && st->flags) st->flags[o + c] = (uint8_t)fls[c];
        if (st) {
            int64_t oc = o + c;
            double m = sts[c].max_abs, d;
            if (sts[c].umax[0]) {
                d = ldexp((double)sts[c].umax[0], -E->acc.a->frac_bits);
                if (d > m) m = d;
            }
            if (st->acc_events) st->acc_events[oc] = sts[c].acc_events;
            if (st->psum_events) st->psum_events[oc] = 0;
            if (st->max_abs) st->max_abs[oc] = m;
            if (st->width_needed) st->width_needed[oc] = sts[c].wneed;
        }
    }
    return HW_OK;
}

int hw_mac_gemm(const hw_mac_spec *s, const hw_xval *a, int64_t a_rs, int64_t a_ks,
                const hw_xval *b, int64_t b_is, int64_t b_ks, int64_t b_cs,
                int64_t m, int64_t n, int64_t kk, const hw_xval *bias,
                uint64_t *out, int32_t out_limbs, hw_mac_stats *st,
                hw_mac_step *trace, int64_t trace_cap, int64_t *trace_len,
                hw_mac_result *res)
{
    eng E;
    int64_t i, j;
    int rc = HW_OK, group_ok;
    if (res) { res->flags = 0; res->err_index = -1; res->err_k = -1; res->err_unit = -1; }
    if (!s || !res || !out || m < 0 || n < 0 || kk < 0 || out_limbs < 1) return HW_E_SIZE;
    if (kk && m && n && (!a || !b)) return HW_E_SIZE;
    if (trace && (trace_cap < 0 || !trace_len)) return HW_E_SIZE;
    if ((rc = eng_init(&E, s)) != HW_OK) return rc;
    if ((s->tiles == HW_TILES_SEPARATE ? E.adder.nl
         : s->order == HW_ORDER_CHUNKED ? E.outer.nl : E.acc.nl) > out_limbs) {
        rc = HW_E_SIZE;
        goto done;
    }
    E.a_ks = a_ks;
    E.b_ks = b_ks;
    E.K = kk;
    group_ok = !trace && s->order == HW_ORDER_SEQUENTIAL && s->tiles == HW_TILES_NONE &&
               E.acc.ops->mac && (s->bias != HW_BIAS_FINAL || E.acc.ops->mac_exact(&s->acc));
    E.bias = bias;
    E.tr = trace;
    E.tcap = trace_cap;
    for (i = 0; i < m && rc == HW_OK; i++) {
        for (j = 0; j < n; j++) {
            hwi_reg fin;
            const hwi_unit *fu = &E.acc;
            int64_t o = i * n + j;
            if (group_ok && (j % 4) == 0 && j + 1 < n) {
                int cnt = (int)(n - j < 4 ? n - j : 4);
                if (seq_group(&E, s, a + i * a_rs, b + i * b_is, b_cs, b_ks, kk, bias, j, cnt,
                              out + o * out_limbs, out_limbs, st, o) == HW_OK) {
                    j += cnt - 1;
                    continue;
                } /* else: the outputs one by one, which reports the error in order */
            }
            E.ar = a + i * a_rs;
            E.bc = b + i * b_is + j * b_cs;
            memset(&E.st, 0, sizeof(E.st));
            E.oflags = 0;
            E.pend = 0;
            rc = run_output(&E, j, &fin, &fu);
            if (rc != HW_OK) {
                res->err_index = o;
                res->err_k = E.err_k;
                res->err_unit = E.err_unit;
                break;
            }
            fu->ops->store(fu, &fin, out + o * out_limbs, out_limbs);
            if (st) {
                if (st->flags) st->flags[o] = (uint8_t)E.oflags;
                if (st->acc_events) st->acc_events[o] = E.st.acc_events;
                if (st->psum_events) st->psum_events[o] = E.st.psum_events;
                if (st->max_abs) st->max_abs[o] = stat_max(&E);
                if (st->width_needed) st->width_needed[o] = E.st.wneed;
            }
        }
    }
    if (trace) *trace_len = E.tlen;
done:
    res->flags = E.flags;
    free(E.xs[0].w);
    free(E.grp);
    return rc;
}
