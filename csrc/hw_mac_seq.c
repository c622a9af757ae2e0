/* hw_mac_seq.c -- the sequential order for several outputs of one row at once.
 * Each output's steps stay in k order; interleaving independent outputs lets
 * the processor overlap their (long, branchy) dependency chains. */
#include "hw_internal.h"

static int mac_step(const hwi_unit *u, hwi_reg *r, const hw_xval *p, hwi_stat *st,
                    uint32_t *flags)
{
    uint32_t fl = u->ops->mac(u, r, p, st);
    *flags |= fl & 0xFFu;
    return (fl & HWI_ERR_MASK) != 0;
}

/* register = x (a bias load into the zero register) */
static int load_step(const hwi_unit *u, hwi_reg *r, const hw_xval *x, hwi_stat *st,
                     uint32_t *flags)
{
    uint32_t fl = u->ops->load(u, r, x, st);
    *flags |= fl & 0xFFu;
    return (fl & HWI_ERR_MASK) != 0;
}

int hwi_seq_group(const hwi_unit *u, const hw_num_spec *prod, const hw_opts *prod_o,
                  const hw_xval *ar, int64_t a_ks, const hw_xval *const *bc, int64_t b_ks,
                  int64_t kk, const hw_xval *const *bias, int bias_mode, int cnt,
                  hwi_reg *regs, hwi_stat *st, uint32_t *flags)
{
    int64_t k;
    int c, bad = 0;
    for (c = 0; c < cnt; c++) {
        u->ops->zero(u, &regs[c]);
        if (bias_mode == HW_BIAS_INIT && bias[c])
            bad |= load_step(u, &regs[c], bias[c], &st[c], &flags[c]);
    }
    for (k = 0; k < kk && !bad; k++) {
        const hw_xval *x = &ar[k * a_ks];
        for (c = 0; c < cnt; c++) {
            hw_xval p, q;
            uint32_t fl = 0;
            if (hwi_mac_product(x, &bc[c][k * b_ks], &p, u->o.nan_rule, &fl) != HW_OK) return 1;
            if (prod->kind != HW_NUM_NONE) {
                uint64_t code;
                fl |= hwi_num_from_xval(prod, prod_o, &p, &code, &q);
                p = q;
            }
            flags[c] |= fl & 0xFFu;
            if (fl & HWI_ERR_MASK) return 1;
            bad |= mac_step(u, &regs[c], &p, &st[c], &flags[c]);
        }
    }
    if (bias_mode == HW_BIAS_FINAL)
        for (c = 0; c < cnt && !bad; c++)
            if (bias[c]) bad |= mac_step(u, &regs[c], bias[c], &st[c], &flags[c]);
    return bad;
}
