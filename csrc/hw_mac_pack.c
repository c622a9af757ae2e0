/* hw_mac_pack.c -- operand preparation for the MAC fast paths: codes to
 * values through a lookup table (formats of <= 16 bits), row-major or packed
 * in panels of 16 columns, zero points subtracted. */
#include <math.h>
#include "hw_internal.h"

#define PW 16

static inline int64_t dst_index(int64_t r, int64_t c, int64_t rows, int64_t cols, int pack)
{
    return pack ? (c / PW) * rows * PW + r * PW + (c % PW) : r * cols + c;
}

int hw_mac_lut_f32(const void *codes, int code_size, int64_t rows, int64_t cols,
                   const float *lut, int64_t lut_n, float *out, int32_t pack,
                   int64_t *nonfinite)
{
    int64_t r, c, bad = 0;
    if (!hwi_valid_code_size(code_size) || rows < 0 || cols < 0 || lut_n < 1 || !nonfinite)
        return HW_E_SIZE;
    if (rows && cols && (!codes || !lut || !out)) return HW_E_SIZE;
    if (pack) memset(out, 0, sizeof(float) * (size_t)(((cols + PW - 1) / PW) * PW * rows));
    for (r = 0; r < rows; r++)
        for (c = 0; c < cols; c++) {
            uint64_t x = hwi_load_code(codes, code_size, (size_t)(r * cols + c));
            float v;
            if (x >= (uint64_t)lut_n) return HW_E_CODE;
            v = lut[x];
            bad += !isfinite(v);
            out[dst_index(r, c, rows, cols, pack)] = v;
        }
    *nonfinite = bad;
    return HW_OK;
}

int hw_mac_lut_i32(const void *codes, int code_size, int64_t rows, int64_t cols,
                   const int32_t *lut, int64_t lut_n, const int32_t *zp, int32_t zp_per_row,
                   int32_t *out, int32_t pack)
{
    int64_t r, c;
    if (!hwi_valid_code_size(code_size) || rows < 0 || cols < 0 || lut_n < 1) return HW_E_SIZE;
    if (rows && cols && (!codes || !lut || !out)) return HW_E_SIZE;
    if (pack) memset(out, 0, sizeof(int32_t) * (size_t)(((cols + PW - 1) / PW) * PW * rows));
    for (r = 0; r < rows; r++)
        for (c = 0; c < cols; c++) {
            uint64_t x = hwi_load_code(codes, code_size, (size_t)(r * cols + c));
            if (x >= (uint64_t)lut_n) return HW_E_CODE;
            out[dst_index(r, c, rows, cols, pack)] =
                (int32_t)((uint32_t)lut[x] - (uint32_t)(zp ? zp[zp_per_row ? r : c] : 0));
        }
    return HW_OK;
}
