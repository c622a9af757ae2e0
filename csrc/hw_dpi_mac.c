/* hw_dpi_mac.c -- the MAC step and the dot product of include/hwsim_dpi.h:
 * a one-output hw_mac_gemm call (sequential order, bias loaded first) on
 * operands decoded by hw_mac_unpack_*; the engine's flags and NaN rules. */
#include <stdlib.h>
#include "hw_internal.h"
#include "hw_dpi_internal.h"

/* n codes (code_size bytes each) of format F to exact values */
static int unpack(const hwd_fmt *F, const void *codes, int code_size, size_t n, hw_xval *out)
{
    hw_result r;
    int rc = F->is_int ? hw_mac_unpack_int(out, codes, code_size, n, F->bits, 0, F->is_signed,
                                           NULL, 1, 1, &r)
                       : hw_mac_unpack_float(out, codes, code_size, n, &F->f, &r);
    return rc;
}

typedef struct {
    hwd_fmt A, B, R;     /* operand and register formats */
    hw_mac_spec s;
    uint64_t rmask;      /* register code mask */
} mac_unit;

/* checks the formats and the mode word, and builds the unit */
static int unit_init(mac_unit *u, int a_fmt, int b_fmt, int acc_fmt, int mode)
{
    int rc;
    hw_acc_spec *acc = &u->s.acc;
    if ((rc = hwd_unpack_fmt(a_fmt, &u->A)) != HW_OK ||
        (rc = hwd_unpack_fmt(b_fmt, &u->B)) != HW_OK ||
        (rc = hwd_unpack_fmt(acc_fmt, &u->R)) != HW_OK)
        return rc;
    if ((rc = hwd_check_mode(mode)) != HW_OK) return rc;
    if ((!u->A.is_int && u->A.f.man_bits > 31) || (!u->B.is_int && u->B.f.man_bits > 31) ||
        (u->A.is_int && u->A.bits > 32) || (u->B.is_int && u->B.bits > 32))
        return HWSIM_DPI_E_ARG; /* exact products must fit 64 bits */
    memset(&u->s, 0, sizeof u->s);
    u->rmask = u->R.bits >= 64 ? ~0ull : (1ull << u->R.bits) - 1;
    if (u->R.is_int) {
        if (!u->A.is_int || !u->B.is_int || !u->R.is_signed) return HWSIM_DPI_E_ARG;
        acc->kind = HW_ACC_FIXED;
        acc->width = u->R.bits;
        acc->frac_bits = 0;
        acc->below_lsb = HW_BELOW_TRUNCATE;
        acc->overflow = (mode & HWSIM_DPI_SATURATE) ? HW_OVF_SATURATE : HW_OVF_WRAP;
    } else {
        hw_opts o;
        if (!u->R.f.is_signed) return HWSIM_DPI_E_FORMAT;
        hwd_opts(&u->R.f, mode, &o);
        acc->kind = HW_ACC_FLOAT;
        acc->fmt = &u->R.f;
        acc->rounding = mode & 15;
        acc->overflow = o.overflow;
        acc->fused = !(mode & HWSIM_DPI_UNFUSED);
    }
    u->s.product.kind = HW_NUM_NONE;
    u->s.order = HW_ORDER_SEQUENTIAL;
    u->s.tiles = HW_TILES_NONE;
    u->s.bias = HW_BIAS_INIT;
    u->s.xs_lo = -2400; /* below every product LSB (2 x 2^-1074 at worst) */
    u->s.xs_limbs = 96;
    return HW_OK;
}

/* the register after bias and kk steps; flags OR-ed over the steps */
static int run(mac_unit *u, const hw_xval *a, const hw_xval *b, int64_t kk, uint64_t bias,
               unsigned long long *z, int *flags)
{
    hw_xval xb;
    hw_mac_result res;
    uint64_t out[2] = {0, 0};
    int rc;
    if ((bias & ~u->rmask) != 0) return HWSIM_DPI_E_CODE;
    if ((rc = unpack(&u->R, &bias, 8, 1, &xb)) != HW_OK) return rc;
    rc = hw_mac_gemm(&u->s, a, 0, 1, b, 0, 1, 1, 1, 1, kk, &xb, out, 2, NULL, NULL, 0, NULL,
                     &res);
    if (rc != HW_OK) return rc;
    *z = out[0] & u->rmask;
    *flags = (int)(res.flags & 0x1F);
    return HW_OK;
}

int hwsim_dpi_mac_step(int a_fmt, int b_fmt, int acc_fmt, int mode, unsigned long long acc,
                       unsigned long long a, unsigned long long b, unsigned long long *z,
                       int *flags)
{
    mac_unit u;
    hw_xval xa, xb;
    uint64_t ca = a, cb = b;
    int rc;
    if (!z || !flags) return HWSIM_DPI_E_ARG;
    if ((rc = unit_init(&u, a_fmt, b_fmt, acc_fmt, mode)) != HW_OK) return rc;
    if ((rc = unpack(&u.A, &ca, 8, 1, &xa)) != HW_OK ||
        (rc = unpack(&u.B, &cb, 8, 1, &xb)) != HW_OK)
        return rc;
    return run(&u, &xa, &xb, 1, acc, z, flags);
}

int hwsim_dpi_dot(int a_fmt, int b_fmt, int acc_fmt, int mode, int n, const unsigned int *a,
                  const unsigned int *b, unsigned long long bias, unsigned long long *z,
                  int *flags)
{
    mac_unit u;
    hw_xval *x;
    int rc;
    if (!z || !flags || (n > 0 && (!a || !b))) return HWSIM_DPI_E_ARG;
    if (n < 0 || n > HWSIM_DPI_DOT_MAX) return HWSIM_DPI_E_SIZE;
    if ((rc = unit_init(&u, a_fmt, b_fmt, acc_fmt, mode)) != HW_OK) return rc;
    x = (hw_xval *)malloc(sizeof(hw_xval) * (size_t)(2 * n + 1));
    if (!x) return HWSIM_DPI_E_NOMEM;
    if ((rc = unpack(&u.A, a, 4, (size_t)n, x)) == HW_OK &&
        (rc = unpack(&u.B, b, 4, (size_t)n, x + n)) == HW_OK)
        rc = run(&u, x, x + n, n, bias, z, flags);
    free(x);
    return rc;
}
