/* hw_mac_unpack.c -- operand codes (float, int, fixed with zero points) and
 * float64 values to exact hw_xval for the MAC kernels. */
#include "hw_internal.h"

static inline int16_t clamp16(int32_t e)
{
    return (int16_t)(e < -32000 ? -32000 : (e > 32000 ? 32000 : e));
}

void hwi_xval_from_code(hw_xval *x, uint64_t c, const hw_format *f)
{
    const int M = f->man_bits;
    int sign = f->is_signed ? (int)((c >> (f->bits - 1)) & 1) : 0;
    uint64_t mag = c & f->mag_mask;
    uint64_t e = mag >> M, m = mag & ((1ull << M) - 1);
    uint64_t allones = (1ull << f->exp_bits) - 1;
    x->sign = (uint8_t)sign;
    x->cls = HW_XV_FINITE;
    x->sig = 0;
    x->exp = 0;
    x->aexp = -32000;
    switch (f->specials) {
    case HW_SPECIALS_IEEE:
        if (e == allones && m) { /* payload left-aligned; quiet bit clear: signalling */
            x->cls = HW_XV_NAN;
            x->sig = m << (64 - M);
            x->exp = !((m >> (M - 1)) & 1);
            return;
        }
        if (e == allones) { x->cls = HW_XV_INF; return; }
        break;
    case HW_SPECIALS_FN:
        if (mag == f->mag_mask) { x->cls = HW_XV_NAN; return; }
        break;
    case HW_SPECIALS_P3109:
        if (mag == f->mag_mask) { x->cls = HW_XV_INF; return; }
        if (sign && mag == 0) { x->cls = HW_XV_NAN; x->sign = 0; return; }
        break;
    case HW_SPECIALS_FNUZ:
    case HW_SPECIALS_P3109_FINITE:
        if (sign && mag == 0) { x->cls = HW_XV_NAN; x->sign = 0; return; }
        break;
    case HW_SPECIALS_E8M0:
        if (e == allones) { x->cls = HW_XV_NAN; return; }
        x->sig = 1;
        x->exp = (int32_t)e - f->bias;
        x->aexp = clamp16(x->exp);
        return;
    default:
        break;
    }
    if (e == 0) {
        if (m == 0 || !f->subnormals) return; /* signed zero */
        x->sig = m;
        x->exp = f->emin - M;
        x->aexp = clamp16(f->emin);
        return;
    }
    x->sig = (1ull << M) | m;
    x->exp = (int32_t)e - f->bias - M;
    x->aexp = clamp16((int32_t)e - f->bias);
}

void hwi_xval_from_i64(hw_xval *x, int64_t v, int32_t frac_bits)
{
    x->cls = HW_XV_FINITE;
    x->sign = v < 0;
    x->sig = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    x->exp = -frac_bits;
    x->aexp = x->sig ? clamp16(hwi_msb64(x->sig) - frac_bits) : -32000;
}

int hw_mac_unpack_float(hw_xval *out, const void *codes, int code_size, size_t n,
                        const hw_format *f, hw_result *res)
{
    size_t i;
    uint64_t limit;
    if (res) { res->flags = 0; res->err_index = -1; }
    if (!f || !res || !hwi_valid_code_size(code_size)) return HW_E_SIZE;
    if (n && (!out || !codes)) return HW_E_SIZE;
    limit = f->bits >= 64 ? ~0ull : (1ull << f->bits) - 1;
    for (i = 0; i < n; i++) {
        uint64_t c = hwi_load_code(codes, code_size, i);
        if (c > limit) { res->err_index = (int64_t)i; return HW_E_CODE; }
        hwi_xval_from_code(&out[i], c, f);
    }
    return HW_OK;
}

int hw_mac_unpack_int(hw_xval *out, const void *codes, int code_size, size_t n,
                      int32_t bits, int32_t frac_bits, int32_t is_signed,
                      const int64_t *zp, int64_t zp_div, int64_t zp_n, hw_result *res)
{
    size_t i;
    uint64_t mask;
    if (res) { res->flags = 0; res->err_index = -1; }
    if (!res || !hwi_valid_code_size(code_size) || bits < 1 || bits > 64) return HW_E_SIZE;
    if (frac_bits < -4000 || frac_bits > 4000) return HW_E_SIZE;
    if (zp && (zp_div < 1 || zp_n < 1)) return HW_E_SIZE;
    if (n && (!out || !codes)) return HW_E_SIZE;
    mask = bits == 64 ? ~0ull : (1ull << bits) - 1;
    for (i = 0; i < n; i++) {
        uint64_t c = hwi_load_code(codes, code_size, i);
        hwi_i128 v, d;
        uint64_t mag;
        hw_xval *x = &out[i];
        if (c > mask) { res->err_index = (int64_t)i; return HW_E_CODE; }
        if (is_signed && ((c >> (bits - 1)) & 1)) v = -(hwi_i128)((0 - c) & mask);
        else v = (hwi_i128)c;
        d = v - (zp ? (hwi_i128)zp[((int64_t)i / zp_div) % zp_n] : 0);
        if (d >= ((hwi_i128)1 << 64) || d <= -((hwi_i128)1 << 64)) {
            res->err_index = (int64_t)i;
            return HW_E_SIZE;
        }
        mag = (uint64_t)(d < 0 ? -d : d);
        x->cls = HW_XV_FINITE;
        x->sign = d < 0;
        x->sig = mag;
        x->exp = -frac_bits;
        x->aexp = mag ? clamp16(hwi_msb64(mag) - frac_bits) : -32000;
    }
    return HW_OK;
}

int hw_mac_unpack_f64(hw_xval *out, const double *in, size_t n, hw_result *res)
{
    size_t i;
    if (res) { res->flags = 0; res->err_index = -1; }
    if (!res || (n && (!out || !in))) return HW_E_SIZE;
    for (i = 0; i < n; i++) {
        uint64_t u = hwi_f64_bits(in[i]), sig = u & 0xFFFFFFFFFFFFFull;
        int ex = (int)((u >> 52) & 0x7FF);
        hw_xval *x = &out[i];
        x->sign = (uint8_t)(u >> 63);
        x->cls = HW_XV_FINITE;
        x->aexp = -32000;
        if (ex == 0x7FF) {
            x->cls = sig ? HW_XV_NAN : HW_XV_INF;
            x->sig = sig << 12;                           /* NaN payload, left-aligned */
            x->exp = sig && !((sig >> 51) & 1);           /* signalling */
            if (!sig) x->sig = 0;
            continue;
        }
        if (ex == 0) { x->exp = -1074; }
        else { sig |= 1ull << 52; x->exp = ex - 1075; }
        if (sig) { /* shortest significand: products of exact values stay narrow */
            int tz = __builtin_ctzll(sig);
            sig >>= tz;
            x->exp += tz;
        }
        x->sig = sig;
        if (sig) x->aexp = clamp16(hwi_msb64(sig) + x->exp);
    }
    return HW_OK;
}
