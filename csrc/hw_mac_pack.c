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

/* codes [rows x cols] of 1 or 2 bytes (or wider) -> lut values, row-major or
 * packed; returns the count of non-finite values (or -1 on a bad code) */
#define LUT_LOOP(T)                                                                          \
    do {                                                                                     \
        const T *cc = (const T *)codes;                                                      \
        for (r = 0; r < rows; r++) {                                                         \
            const T *row = cc + r * cols;                                                     \
            for (c = 0; c < cols; c++) {                                                     \
                uint64_t x = row[c];                                                         \
                float v;                                                                     \
                if (x >= (uint64_t)lut_n) return -1;                                         \
                v = lut[x];                                                                  \
                if (check) bad += !isfinite(v);                                              \
                out[pack ? (c / PW) * rows * PW + r * PW + (c % PW) : r * cols + c] = v;     \
            }                                                                                \
        }                                                                                    \
    } while (0)

static int64_t lut_f32_run(const void *codes, int code_size, int64_t rows, int64_t cols,
                           const float *lut, int64_t lut_n, float *out, int pack, int check)
{
    int64_t r, c, bad = 0;
    if (code_size == 1) LUT_LOOP(uint8_t);
    else if (code_size == 2) LUT_LOOP(uint16_t);
    else if (code_size == 4) LUT_LOOP(uint32_t);
    else LUT_LOOP(uint64_t);
    return bad;
}

int hw_mac_lut_f32(const void *codes, int code_size, int64_t rows, int64_t cols,
                   const float *lut, int64_t lut_n, float *out, int32_t pack,
                   int64_t *nonfinite)
{
    int64_t i, bad;
    int check = 0;
    if (!hwi_valid_code_size(code_size) || rows < 0 || cols < 0 || lut_n < 1 || !nonfinite)
        return HW_E_SIZE;
    if (rows && cols && (!codes || !lut || !out)) return HW_E_SIZE;
    for (i = 0; i < lut_n; i++) check |= !isfinite(lut[i]);
    if (pack) memset(out, 0, sizeof(float) * (size_t)(((cols + PW - 1) / PW) * PW * rows));
    bad = lut_f32_run(codes, code_size, rows, cols, lut, lut_n, out, pack, check);
    if (bad < 0) return HW_E_CODE;
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

#define LUT16_LOOP(T)                                                                        \
    do {                                                                                     \
        const T *cc = (const T *)codes;                                                      \
        for (r = 0; r < rows; r++) {                                                         \
            const T *row = cc + r * cols;                                                     \
            int16_t *orow = pairs ? out + (r / 2) * 2 * PW + (r & 1) : out + r * cols;         \
            int32_t zr = (zp && zp_per_row) ? zp[r] : 0;                                      \
            for (c = 0; c < cols; c++) {                                                     \
                uint64_t x = row[c];                                                         \
                if (x >= (uint64_t)lut_n) return HW_E_CODE;                                  \
                orow[pairs ? (c / PW) * kp * PW + (c % PW) * 2 : c] =                        \
                    (int16_t)(lut[x] - (zp ? (zp_per_row ? zr : zp[c]) : 0));                \
            }                                                                                \
        }                                                                                    \
    } while (0)

int hw_mac_lut_i16(const void *codes, int code_size, int64_t rows, int64_t cols,
                   const int32_t *lut, int64_t lut_n, const int32_t *zp, int32_t zp_per_row,
                   int16_t *out, int32_t pairs)
{
    int64_t r, c, kp = (rows + 1) & ~(int64_t)1;
    if (!hwi_valid_code_size(code_size) || rows < 0 || cols < 0 || lut_n < 1) return HW_E_SIZE;
    if (rows && cols && (!codes || !lut || !out)) return HW_E_SIZE;
    if (pairs) memset(out, 0, sizeof(int16_t) * (size_t)(((cols + PW - 1) / PW) * PW * kp));
    if (code_size == 1) LUT16_LOOP(uint8_t);
    else if (code_size == 2) LUT16_LOOP(uint16_t);
    else if (code_size == 4) LUT16_LOOP(uint32_t);
    else LUT16_LOOP(uint64_t);
    return HW_OK;
}
