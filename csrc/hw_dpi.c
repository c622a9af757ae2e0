/* hw_dpi.c -- the DPI-C / plain C scalar interface (include/hwsim_dpi.h):
 * format descriptors and names, encode / decode, and the IEEE operations
 * add, mul, fma on codes.  Arithmetic is the library's own (hw_encode,
 * hwi_add_round, hwi_mac_product, hwi_round_pack); this file adds argument
 * checks, the special cases and the NaN policies of hwsim/rtl/ieee.py.
 * The MAC step and the dot product are in hw_dpi_mac.c. */
#include <ctype.h>
#include "hw_internal.h"
#include "hw_dpi_internal.h"

/* ---- format descriptors ---- */

static int32_t default_bias(int e, int sp)
{
    if (sp == HW_SPECIALS_P3109 || sp == HW_SPECIALS_P3109_FINITE) return 1 << (e - 1);
    return (1 << (e - 1)) - 1;
}

int hwsim_dpi_float_format(int exp_bits, int man_bits, int bias, int variant)
{
    hw_format f;
    int sp = variant & 7;
    if (variant < 0 || variant > 63 || exp_bits < 1 || exp_bits > 11 || man_bits < 0 ||
        man_bits > 52)
        return HWSIM_DPI_E_FORMAT;
    if (variant & HWSIM_DPI_DEFAULT_BIAS) bias = default_bias(exp_bits, sp);
    memset(&f, 0, sizeof f);
    f.exp_bits = exp_bits;
    f.man_bits = man_bits;
    f.bias = bias;
    f.specials = sp;
    f.subnormals = !(variant & HWSIM_DPI_NOSUB);
    f.is_signed = !(variant & HWSIM_DPI_UNSIGNED);
    if (hw_format_init(&f) != HW_OK) return HWSIM_DPI_E_FORMAT;
    return exp_bits | (man_bits << 4) | (sp << 10) | ((variant & HWSIM_DPI_NOSUB) ? 1 << 13 : 0) |
           ((variant & HWSIM_DPI_UNSIGNED) ? 1 << 14 : 0) | ((bias + 4096) << 15);
}

int hwsim_dpi_int_format(int bits, int is_signed)
{
    if (bits < 2 || bits > 64 || (is_signed != 0 && is_signed != 1)) return HWSIM_DPI_E_FORMAT;
    return HWD_INT_BIT | bits | (is_signed ? 0 : 1 << 14);
}

int hwd_unpack_fmt(int d, hwd_fmt *out)
{
    memset(out, 0, sizeof *out);
    if (d < 0) return HWSIM_DPI_E_FORMAT;
    if (d & HWD_INT_BIT) {
        if ((d & ~(HWD_INT_BIT | 0x7F | (1 << 14))) != 0) return HWSIM_DPI_E_FORMAT;
        out->is_int = 1;
        out->bits = d & 0x7F;
        out->is_signed = !(d & (1 << 14));
        if (out->bits < 2 || out->bits > 64) return HWSIM_DPI_E_FORMAT;
        return HW_OK;
    }
    if (d >> 29) return HWSIM_DPI_E_FORMAT;
    out->f.exp_bits = d & 15;
    out->f.man_bits = (d >> 4) & 63;
    out->f.specials = (d >> 10) & 7;
    out->f.subnormals = !((d >> 13) & 1);
    out->f.is_signed = !((d >> 14) & 1);
    out->f.bias = ((d >> 15) & 0x3FFF) - 4096;
    if (hw_format_init(&out->f) != HW_OK) return HWSIM_DPI_E_FORMAT;
    out->bits = out->f.bits;
    out->is_signed = out->f.is_signed;
    return HW_OK;
}

int hwsim_dpi_format_bits(int fmt)
{
    hwd_fmt f;
    int rc = hwd_unpack_fmt(fmt, &f);
    return rc != HW_OK ? rc : f.bits;
}

/* hwsim's catalogue (hwsim/formats/catalogue.py), and its aliases */
typedef struct { const char *name; int e, m, bias, variant; } named_fmt;
#define D HWSIM_DPI_DEFAULT_BIAS
static const named_fmt NAMES[] = {
    {"float64", 11, 52, 0, D}, {"float32", 8, 23, 0, D}, {"tf32", 8, 10, 0, D},
    {"bfloat16", 8, 7, 0, D}, {"float16", 5, 10, 0, D}, {"float8_e5m2", 5, 2, 0, D},
    {"float8_e4m3fn", 4, 3, 0, D | HWSIM_DPI_SP_FN}, {"float8_e4m3", 4, 3, 0, D},
    {"float8_e3m4", 3, 4, 0, D}, {"float8_e4m3fnuz", 4, 3, 8, HWSIM_DPI_SP_FNUZ},
    {"float8_e5m2fnuz", 5, 2, 16, HWSIM_DPI_SP_FNUZ},
    {"float8_e4m3b11fnuz", 4, 3, 11, HWSIM_DPI_SP_FNUZ},
    {"float8_e8m0fnu", 8, 0, 0, D | HWSIM_DPI_SP_E8M0 | HWSIM_DPI_UNSIGNED | HWSIM_DPI_NOSUB},
    {"float6_e2m3fn", 2, 3, 0, D | HWSIM_DPI_SP_FINITE},
    {"float6_e3m2fn", 3, 2, 0, D | HWSIM_DPI_SP_FINITE},
    {"float4_e2m1fn", 2, 1, 0, D | HWSIM_DPI_SP_FINITE},
};
#undef D
static const char *const ALIASES[][2] = {
    {"fp64", "float64"}, {"binary64", "float64"}, {"double", "float64"},
    {"fp32", "float32"}, {"binary32", "float32"}, {"single", "float32"},
    {"fp16", "float16"}, {"binary16", "float16"}, {"half", "float16"}, {"bf16", "bfloat16"},
    {"e4m3fn", "float8_e4m3fn"}, {"fp8_e4m3", "float8_e4m3fn"}, {"e5m2", "float8_e5m2"},
    {"fp8_e5m2", "float8_e5m2"}, {"e4m3fnuz", "float8_e4m3fnuz"},
    {"e5m2fnuz", "float8_e5m2fnuz"}, {"e8m0fnu", "float8_e8m0fnu"},
    {"fp4_e2m1", "float4_e2m1fn"}, {"fp6_e2m3", "float6_e2m3fn"}, {"fp6_e3m2", "float6_e3m2fn"},
};

/* "intN" / "uintN" with N 2..64, else -1 */
static int int_name(const char *s)
{
    int is_signed = 1, n = 0, digits = 0;
    if (*s == 'u') { is_signed = 0; s++; }
    if (strncmp(s, "int", 3) != 0) return -1;
    for (s += 3; *s; s++, digits++) {
        if (!isdigit((unsigned char)*s) || digits >= 2) return -1;
        n = n * 10 + (*s - '0');
    }
    if (!digits) return -1;
    return hwsim_dpi_int_format(n, is_signed);
}

int hwsim_dpi_format(const char *name)
{
    char s[32];
    size_t i, n = 0;
    int rc;
    if (!name) return HWSIM_DPI_E_ARG;
    while (*name == ' ') name++;
    for (; name[n] && name[n] != ' '; n++) {
        if (n + 1 >= sizeof s) return HWSIM_DPI_E_FORMAT;
        s[n] = (char)tolower((unsigned char)name[n]);
    }
    s[n] = 0;
    for (; name[n]; n++)
        if (name[n] != ' ') return HWSIM_DPI_E_FORMAT;
    for (i = 0; i < sizeof ALIASES / sizeof ALIASES[0]; i++)
        if (!strcmp(s, ALIASES[i][0])) { strcpy(s, ALIASES[i][1]); break; }
    for (i = 0; i < sizeof NAMES / sizeof NAMES[0]; i++)
        if (!strcmp(s, NAMES[i].name))
            return hwsim_dpi_float_format(NAMES[i].e, NAMES[i].m, NAMES[i].bias, NAMES[i].variant);
    rc = int_name(s);
    return rc >= 0 ? rc : HWSIM_DPI_E_FORMAT;
}

int hwsim_dpi_mode(const char *name)
{
    static const char *const M[] = {"rne", "rna", "rtz", "rup", "rdn", "rto"};
    int i;
    if (!name) return HWSIM_DPI_E_ARG;
    for (i = 0; i < 6; i++)
        if (!strcmp(name, M[i])) return i;
    return HWSIM_DPI_E_MODE;
}

const char *hwsim_dpi_strerror(int status)
{
    switch (status) {
    case HWSIM_DPI_OK: return "ok";
    case HWSIM_DPI_E_FORMAT: return "bad format descriptor or name";
    case HWSIM_DPI_E_MODE: return "bad rounding mode or mode word";
    case HWSIM_DPI_E_SIZE: return "length out of range or unit too wide";
    case HWSIM_DPI_E_OVERFLOW: return "overflow under an 'error' policy";
    case HWSIM_DPI_E_NAN: return "NaN result in a format without NaN";
    case HWSIM_DPI_E_CODE: return "code out of range for its format";
    case HWSIM_DPI_E_NOMEM: return "out of memory";
    case HWSIM_DPI_E_ARG: return "NULL pointer or operation not supported for the format";
    default: return "unknown status";
    }
}

/* ---- mode words and options ---- */

int hwd_check_mode(int mode)
{
    if (mode < 0 || (mode & ~HWSIM_DPI_MODE_MASK) != 0) return HWSIM_DPI_E_MODE;
    if ((mode & 15) > HW_ROUND_RTO || ((mode >> 4) & 3) > 2) return HWSIM_DPI_E_MODE;
    return HW_OK;
}

void hwd_opts(const hw_format *f, int mode, hw_opts *o)
{
    memset(o, 0, sizeof *o);
    o->rounding = mode & 15;
    o->overflow = (f->has_inf || f->has_nan) ? HW_OVF_SPECIAL : HW_OVF_SATURATE;
    o->tininess = (mode & HWSIM_DPI_TININESS_BEFORE) ? HW_TININESS_BEFORE : HW_TININESS_AFTER;
    o->nan_policy = HW_NAN_ERROR;
}

int hwd_status_of(uint32_t fl)
{
    if (fl & HWI_ERR_NAN) return HWSIM_DPI_E_NAN;
    if (fl & HWI_ERR_OVERFLOW) return HWSIM_DPI_E_OVERFLOW;
    return HW_OK;
}

/* ---- encode / decode ---- */

static int encode_any(int fmt, int mode, const void *x, int kind, unsigned long long *code,
                      int *flags)
{
    hwd_fmt F;
    hw_opts o;
    hw_result r;
    uint8_t ef = 0;
    uint64_t c = 0;
    int rc;
    if (!code || !flags) return HWSIM_DPI_E_ARG;
    if ((rc = hwd_unpack_fmt(fmt, &F)) != HW_OK) return rc;
    if ((rc = hwd_check_mode(mode)) != HW_OK) return rc;
    hwd_opts(&F.f, mode, &o);
    if (F.is_int) {
        o.overflow = HW_OVF_SATURATE;
        rc = hw_encode_fixed(&c, 8, x, kind, 1, F.bits, 0, F.is_signed, &o, NULL, &ef, &r);
    } else {
        rc = hw_encode(&c, 8, x, kind, 1, &F.f, &o, NULL, &ef, &r);
    }
    if (rc != HW_OK) return rc;
    *code = c;
    *flags = ef;
    return HW_OK;
}

int hwsim_dpi_encode_f64(int fmt, int mode, unsigned long long x_bits,
                         unsigned long long *code, int *flags)
{
    double x = hwi_bits_f64(x_bits);
    return encode_any(fmt, mode, &x, HW_IN_F64, code, flags);
}

int hwsim_dpi_encode_f32(int fmt, int mode, unsigned int x_bits, unsigned long long *code,
                         int *flags)
{
    float x = hwi_bits_f32(x_bits);
    return encode_any(fmt, mode, &x, HW_IN_F32, code, flags);
}

int hwsim_dpi_decode(int fmt, unsigned long long code, unsigned long long *f64_bits)
{
    hwd_fmt F;
    hw_result r;
    double v = 0;
    uint64_t c = code;
    int rc;
    if (!f64_bits) return HWSIM_DPI_E_ARG;
    if ((rc = hwd_unpack_fmt(fmt, &F)) != HW_OK) return rc;
    if (F.bits < 64 && (c >> F.bits)) return HWSIM_DPI_E_CODE;
    rc = F.is_int ? hw_decode_fixed(&v, &c, 8, 1, F.bits, 0, F.is_signed, &r)
                  : hw_decode(&v, &c, 8, 1, &F.f, NULL, &r);
    if (rc != HW_OK) return rc;
    *f64_bits = hwi_f64_bits(v);
    return HW_OK;
}

/* ---- IEEE operations: special cases and NaN policies (hwsim/rtl/ieee.py) ---- */

enum { K_ZERO, K_FIN, K_INF, K_QNAN, K_SNAN };

typedef struct {
    const hw_format *f;
    hw_opts o;
    int canonical, prefer_snan, default_negative;
} ieee_ctx;

static int is_nan_kind(int k) { return k == K_QNAN || k == K_SNAN; }

static int classify(const hw_format *f, uint64_t c, hw_xval *x)
{
    hwi_xval_from_code(x, c, f);
    if (x->cls == HW_XV_NAN) {
        int M = f->man_bits;
        int snan = f->specials == HW_SPECIALS_IEEE && M >= 2 && !((c >> (M - 1)) & 1);
        return snan ? K_SNAN : K_QNAN;
    }
    if (x->cls == HW_XV_INF) return K_INF;
    return x->sig ? K_FIN : K_ZERO;
}

static int code_sign(const hw_format *f, uint64_t c) { return (c & f->sign_bit) != 0; }

static int default_nan(const ieee_ctx *q, uint64_t *z)
{
    const hw_format *f = q->f;
    if (!f->has_nan) return HWSIM_DPI_E_NAN;
    *z = f->nan_code;
    if (q->default_negative && f->is_signed &&
        (f->specials == HW_SPECIALS_IEEE || f->specials == HW_SPECIALS_FN))
        *z |= f->sign_bit;
    return HW_OK;
}

static uint64_t quiet(const hw_format *f, uint64_t c)
{
    return (f->specials == HW_SPECIALS_IEEE && f->man_bits >= 1) ? c | (1ull << (f->man_bits - 1))
                                                                  : c;
}

/* SoftFloat's propagateNaN(a, b) under the policy; one of a, b is a NaN */
static int propagate(const ieee_ctx *q, uint64_t a, int ka, uint64_t b, int kb, uint64_t *z,
                     uint32_t *fl)
{
    int sig = ka == K_SNAN || kb == K_SNAN;
    if (sig) *fl |= HW_FLAG_INVALID;
    if (q->canonical || q->f->specials != HW_SPECIALS_IEEE) return default_nan(q, z);
    if (q->prefer_snan && sig) *z = quiet(q->f, ka == K_SNAN ? a : b);
    else *z = quiet(q->f, is_nan_kind(ka) ? a : b);
    return HW_OK;
}

static int invalid_nan(const ieee_ctx *q, uint64_t *z, uint32_t *fl)
{
    *fl |= HW_FLAG_INVALID;
    return default_nan(q, z);
}

static int inf_result(const ieee_ctx *q, int neg, uint64_t *z, uint32_t *fl)
{
    if (!q->f->has_inf) return invalid_nan(q, z, fl);
    *z = q->f->inf_code | (neg ? q->f->sign_bit : 0);
    return HW_OK;
}

/* checks shared by the three operations; fills the context */
static int ieee_begin(int fmt, int mode, const unsigned long long *codes, int n,
                      unsigned long long *z, int *flags, hwd_fmt *F, ieee_ctx *q)
{
    int i, rc, pol;
    if (!z || !flags) return HWSIM_DPI_E_ARG;
    if ((rc = hwd_unpack_fmt(fmt, F)) != HW_OK) return rc;
    if (F->is_int) return HWSIM_DPI_E_ARG;
    if ((rc = hwd_check_mode(mode)) != HW_OK) return rc;
    for (i = 0; i < n; i++)
        if (F->bits < 64 && (codes[i] >> F->bits)) return HWSIM_DPI_E_CODE;
    q->f = &F->f;
    hwd_opts(&F->f, mode, &q->o);
    pol = (mode >> 4) & 3;
    q->canonical = pol == 1;
    q->default_negative = pol == 0;
    q->prefer_snan = pol == 2;
    return HW_OK;
}

static int ieee_end(int rc, uint64_t c, uint32_t fl, unsigned long long *z, int *flags)
{
    if (rc == HW_OK) rc = hwd_status_of(fl);
    if (rc != HW_OK) return rc;
    *z = c;
    *flags = (int)(fl & 0x1F);
    return HW_OK;
}

int hwsim_dpi_add(int fmt, int mode, unsigned long long a, unsigned long long b,
                  unsigned long long *z, int *flags)
{
    const unsigned long long in[2] = {a, b};
    hwd_fmt F;
    ieee_ctx q;
    hw_xval xa, xb;
    uint64_t c = 0;
    uint32_t fl = 0;
    int ka, kb, rc = ieee_begin(fmt, mode, in, 2, z, flags, &F, &q);
    if (rc != HW_OK) return rc;
    ka = classify(q.f, a, &xa);
    kb = classify(q.f, b, &xb);
    if (is_nan_kind(ka) || is_nan_kind(kb)) rc = propagate(&q, a, ka, b, kb, &c, &fl);
    else if (ka == K_INF && kb == K_INF && code_sign(q.f, a) != code_sign(q.f, b))
        rc = invalid_nan(&q, &c, &fl);
    else if (ka == K_INF || kb == K_INF)
        rc = inf_result(&q, code_sign(q.f, ka == K_INF ? a : b), &c, &fl);
    else
        c = hwi_add_round(&xa, &xb, q.f, &q.o, &fl);
    return ieee_end(rc, c, fl, z, flags);
}

/* the exact product of two finite operands */
static int exact_product(const hw_xval *xa, const hw_xval *xb, int neg, hw_xval *p)
{
    uint32_t fl = 0;
    if (hwi_mac_product(xa, xb, p, 0, &fl) != HW_OK) return HWSIM_DPI_E_ARG; /* finite operands */
    p->sign = (uint8_t)neg;
    return HW_OK;
}

int hwsim_dpi_mul(int fmt, int mode, unsigned long long a, unsigned long long b,
                  unsigned long long *z, int *flags)
{
    const unsigned long long in[2] = {a, b};
    hwd_fmt F;
    ieee_ctx q;
    hw_xval xa, xb, p, zero;
    uint64_t c = 0;
    uint32_t fl = 0;
    int ka, kb, neg, rc = ieee_begin(fmt, mode, in, 2, z, flags, &F, &q);
    if (rc != HW_OK) return rc;
    if (F.f.man_bits > 31) return HWSIM_DPI_E_ARG;
    ka = classify(q.f, a, &xa);
    kb = classify(q.f, b, &xb);
    neg = code_sign(q.f, a) != code_sign(q.f, b);
    if (is_nan_kind(ka) || is_nan_kind(kb)) {
        rc = propagate(&q, a, ka, b, kb, &c, &fl);
    } else if (ka == K_INF || kb == K_INF) {
        rc = (ka == K_ZERO || kb == K_ZERO) ? invalid_nan(&q, &c, &fl)
                                            : inf_result(&q, neg, &c, &fl);
    } else if ((rc = exact_product(&xa, &xb, neg, &p)) == HW_OK) {
        memset(&zero, 0, sizeof zero);
        zero.sign = (uint8_t)neg; /* x + (+-0) of the product's sign: x, or that zero */
        c = hwi_add_round(&p, &zero, q.f, &q.o, &fl);
    }
    return ieee_end(rc, c, fl, z, flags);
}

/* the NaN cases of fma once a or b is NaN or the product is invalid */
static int fma_nan(const ieee_ctx *q, uint64_t a, int ka, uint64_t b, int kb, uint64_t c, int kc,
                   int product_invalid, uint64_t *z, uint32_t *fl)
{
    int rc = product_invalid ? invalid_nan(q, z, fl) : propagate(q, a, ka, b, kb, z, fl);
    if (rc == HW_OK && is_nan_kind(kc)) {
        int kz = classify(q->f, *z, &(hw_xval){0});
        rc = propagate(q, *z, kz, c, kc, z, fl);
    }
    return rc;
}

int hwsim_dpi_fma(int fmt, int mode, unsigned long long a, unsigned long long b,
                  unsigned long long c, unsigned long long *z, int *flags)
{
    const unsigned long long in[3] = {a, b, c};
    hwd_fmt F;
    ieee_ctx q;
    hw_xval xa, xb, xc, p;
    uint64_t r = 0;
    uint32_t fl = 0;
    int ka, kb, kc, pneg, rc = ieee_begin(fmt, mode, in, 3, z, flags, &F, &q);
    if (rc != HW_OK) return rc;
    if (F.f.man_bits > 31) return HWSIM_DPI_E_ARG;
    ka = classify(q.f, a, &xa);
    kb = classify(q.f, b, &xb);
    kc = classify(q.f, c, &xc);
    pneg = code_sign(q.f, a) != code_sign(q.f, b);
    if (is_nan_kind(ka) || is_nan_kind(kb)) {
        rc = fma_nan(&q, a, ka, b, kb, c, kc, 0, &r, &fl);
    } else if (ka == K_INF || kb == K_INF) {
        if (ka == K_ZERO || kb == K_ZERO || (kc == K_INF && code_sign(q.f, c) != pneg))
            rc = fma_nan(&q, a, ka, b, kb, c, kc, 1, &r, &fl);
        else if (is_nan_kind(kc))
            rc = propagate(&q, c, kc, c, kc, &r, &fl);
        else
            rc = inf_result(&q, pneg, &r, &fl);
    } else if (is_nan_kind(kc)) {
        rc = propagate(&q, c, kc, c, kc, &r, &fl);
    } else if (kc == K_INF) {
        rc = inf_result(&q, code_sign(q.f, c), &r, &fl);
    } else if ((rc = exact_product(&xa, &xb, pneg, &p)) == HW_OK) {
        r = hwi_add_round(&p, &xc, q.f, &q.o, &fl);
    }
    return ieee_end(rc, r, fl, z, flags);
}
