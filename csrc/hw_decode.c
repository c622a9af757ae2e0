/* hw_decode.c -- codes of a floating format to float64 (always exact). */
#include "hw_internal.h"

/* 2^e as a double, for -1074 <= e <= 1023 */
static inline double pow2(int32_t e)
{
    if (e >= -1022) return hwi_bits_f64((uint64_t)(e + 1023) << 52);
    return hwi_bits_f64(1ull << (e + 1074));
}

static inline double decode_one(uint64_t c, const hw_format *f, int daz)
{
    const int M = f->man_bits;
    int sign = f->is_signed ? (int)((c >> (f->bits - 1)) & 1) : 0;
    uint64_t mag = c & f->mag_mask;
    uint64_t e = mag >> M, m = mag & ((1ull << M) - 1);
    uint64_t allones = (1ull << f->exp_bits) - 1;
    double v;
    switch (f->specials) {
    case HW_SPECIALS_IEEE:
        if (e == allones) return m ? hwi_bits_f64(0x7FF8000000000000ull) : hwi_bits_f64(0x7FF0000000000000ull | ((uint64_t)sign << 63));
        break;
    case HW_SPECIALS_FN:
        if (mag == f->mag_mask) return hwi_bits_f64(0x7FF8000000000000ull);
        break;
    case HW_SPECIALS_P3109:
        if (mag == f->mag_mask) return hwi_bits_f64(0x7FF0000000000000ull | ((uint64_t)sign << 63));
        /* fall through */
    case HW_SPECIALS_FNUZ:
    case HW_SPECIALS_P3109_FINITE:
        if (sign && mag == 0) return hwi_bits_f64(0x7FF8000000000000ull);
        break;
    case HW_SPECIALS_E8M0:
        if (e == allones) return hwi_bits_f64(0x7FF8000000000000ull);
        return pow2((int32_t)e - f->bias);
    default:
        break;
    }
    if (e == 0) {
        if (m == 0 || !f->subnormals || daz) return sign ? -0.0 : 0.0;
        v = (double)m * pow2(f->emin - M);
    } else {
        v = (double)((1ull << M) | m) * pow2((int32_t)e - f->bias - M);
    }
    return sign ? -v : v;
}

/* Decodes n codes with the element routine above (no argument checks: the
 * callers, hw_decode_general and the fast decoder's redo of marked elements,
 * checked them); returns HW_OK or HW_E_CODE with res->err_index set. */
int hwi_decode_elems(double *out, const void *in, int code_size, size_t n, const hw_format *f,
                     int daz, hw_result *res)
{
    size_t i;
    uint64_t limit = f->bits >= 64 ? ~0ull : (1ull << f->bits) - 1;
    for (i = 0; i < n; i++) {
        uint64_t c = hwi_load_code(in, code_size, i);
        if (c > limit) { res->err_index = (int64_t)i; return HW_E_CODE; }
        out[i] = decode_one(c, f, daz);
    }
    return HW_OK;
}

int hw_decode_general(double *out, const void *in, int code_size, size_t n,
                      const hw_format *f, const hw_opts *o, hw_result *res)
{
    if (res) { res->flags = 0; res->err_index = -1; }
    if (!f || !res || !hwi_valid_code_size(code_size)) return HW_E_SIZE;
    if (n && (!out || !in)) return HW_E_SIZE;
    return hwi_decode_elems(out, in, code_size, n, f, o ? o->daz : 0, res);
}
