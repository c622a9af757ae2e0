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

/* One row of codes -> lut values: column c goes to out[(c / 16) * ps + c % 16]
 * (ps = 16: contiguous; ps = rows * 16: a row of the panel layout).  The code
 * bound is checked only when a code of this size can exceed the table.
 * Returns -1 on a code >= lut_n, else 1 when a value is non-finite, else 0. */
#define ROW_LOOP(T)                                                                          \
    do {                                                                                     \
        const T *cc = (const T *)codes;                                                      \
        for (g = 0; g < cols; g += 16) {                                                     \
            float *og = out + (g >> 4) * ps;                                                 \
            int64_t q, w = cols - g < 16 ? cols - g : 16;                                    \
            for (q = 0; q < w; q++) {                                                        \
                uint64_t x = cc[g + q];                                                      \
                float v;                                                                     \
                if (bounded && x >= (uint64_t)lut_n) return -1;                              \
                v = lut[x];                                                                  \
                bad_any |= (~hwi_f32_bits(v) & 0x7F800000u) == 0;                            \
                og[q] = v;                                                                   \
            }                                                                                \
        }                                                                                    \
    } while (0)

#ifdef HWI_SIMD
#include <immintrin.h>
/* full 16-column groups of 1- or 2-byte codes whose table covers every code:
 * AVX2 gathers; returns the first column not done */
__attribute__((target("avx2")))
static int64_t row_gather(const void *codes, int code_size, int64_t cols, const float *lut,
                          float *out, int64_t ps, int *bad)
{
    const __m256i expm = _mm256_set1_epi32(0x7F800000);
    __m256i any = _mm256_setzero_si256();
    int64_t g;
    for (g = 0; g + 16 <= cols; g += 16) {
        __m256i i0, i1;
        __m256 v0, v1;
        if (code_size == 1) {
            __m128i c = _mm_loadu_si128((const __m128i *)((const uint8_t *)codes + g));
            i0 = _mm256_cvtepu8_epi32(c);
            i1 = _mm256_cvtepu8_epi32(_mm_srli_si128(c, 8));
        } else {
            const uint16_t *c16 = (const uint16_t *)codes + g;
            i0 = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)c16));
            i1 = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(c16 + 8)));
        }
        v0 = _mm256_i32gather_ps(lut, i0, 4);
        v1 = _mm256_i32gather_ps(lut, i1, 4);
        any = _mm256_or_si256(any, _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_castps_si256(v0), expm), expm));
        any = _mm256_or_si256(any, _mm256_cmpeq_epi32(_mm256_and_si256(_mm256_castps_si256(v1), expm), expm));
        _mm256_storeu_ps(out + (g >> 4) * ps, v0);
        _mm256_storeu_ps(out + (g >> 4) * ps + 8, v1);
    }
    *bad = !_mm256_testz_si256(any, any);
    return g;
}

static int have_avx2(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}
#endif

int hwi_lut_row_f32(const void *codes, int code_size, int64_t cols, const float *lut,
                    int64_t lut_n, float *out, int64_t ps)
{
    int64_t g = 0;
    int bad_any = 0;
    int bounded = code_size > 2 || lut_n < ((int64_t)1 << (8 * code_size));
#ifdef HWI_SIMD
    if (!bounded && have_avx2()) {
        int b2 = 0;
        g = row_gather(codes, code_size, cols, lut, out, ps, &b2);
        bad_any |= b2;
        codes = (const char *)codes + g * code_size;
        out += (g >> 4) * ps;
        cols -= g;
    }
#endif
    if (code_size == 1) ROW_LOOP(uint8_t);
    else if (code_size == 2) ROW_LOOP(uint16_t);
    else if (code_size == 4) ROW_LOOP(uint32_t);
    else ROW_LOOP(uint64_t);
    return bad_any != 0;
}

/* Arithmetic decode of narrow float codes (the caller has verified, code by
 * code, that it equals the table): dec = {shift, scale exponent, magnitude
 * bits, signed, non-finite-from, nan-at-sign}.  The magnitude field shifted
 * into binary32's exponent / fraction reads as 2^(E-127) * 1.f (E > 0) or
 * 2^-126 * 0.f (E = 0): times 2^(127 - bias) it is the code's value, exactly
 * (the multiply is exact: DAZ / FTZ are off and the results are binary32
 * numbers).  Non-finite: magnitude >= dec[4], or the code 1 << magnitude bits
 * when dec[5] (fnuz / P3109 NaN); a code >= 2^(magnitude + sign bits) is a
 * bad code.  Same placement / return as hwi_lut_row_f32. */
int hwi_dec_valid(const int32_t *dec, int code_size)
{
    return dec[0] >= 0 && dec[0] <= 23 && dec[1] >= -126 && dec[1] <= 127 && dec[2] >= 1 &&
           (dec[3] == 0 || dec[3] == 1) && dec[2] + dec[3] <= 8 * code_size &&
           dec[2] + dec[3] <= 16 && dec[4] >= 0 && dec[4] <= (1 << dec[2]) &&
           (dec[5] == 0 || dec[5] == 1) && (code_size == 1 || code_size == 2);
}

static inline float dec_one(uint32_t x, const int32_t *dec, float scale, int *bad)
{
    uint32_t mag = x & ((1u << dec[2]) - 1u), sgn = dec[3] ? (x >> dec[2]) & 1u : 0u;
    float v;
    *bad |= mag >= (uint32_t)dec[4] || (dec[5] && x == (1u << dec[2]));
    v = hwi_bits_f32(mag << dec[0]) * scale;
    return hwi_bits_f32(hwi_f32_bits(v) | (sgn << 31));
}

#ifdef HWI_SIMD
__attribute__((target("avx2")))
static int64_t dec_avx2(const void *codes, int code_size, int64_t cols, const int32_t *dec,
                        float scale, float *out, int64_t ps, int *bad)
{
    const __m256i magm = _mm256_set1_epi32((int)((1u << dec[2]) - 1u));
    const __m256i lim = _mm256_set1_epi32(dec[4] - 1), nanc = _mm256_set1_epi32(1 << dec[2]);
    const __m128i sh = _mm_cvtsi32_si128(dec[0]), ssh = _mm_cvtsi32_si128(dec[2]);
    const __m256 sc = _mm256_set1_ps(scale);
    const __m256i top = _mm256_set1_epi32((1 << (dec[2] + dec[3])) - 1);
    __m256i any = _mm256_setzero_si256(), wide = _mm256_setzero_si256();
    int64_t g;
    for (g = 0; g + 8 <= cols; g += 8) {
        __m256i x = code_size == 1
            ? _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)((const uint8_t *)codes + g)))
            : _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)codes + g)));
        __m256i mag = _mm256_and_si256(x, magm);
        __m256 v;
        wide = _mm256_or_si256(wide, _mm256_cmpgt_epi32(x, top));
        v = _mm256_mul_ps(_mm256_castsi256_ps(_mm256_sll_epi32(mag, sh)), sc);
        any = _mm256_or_si256(any, _mm256_cmpgt_epi32(mag, lim));
        if (dec[5]) any = _mm256_or_si256(any, _mm256_cmpeq_epi32(x, nanc));
        if (dec[3])
            v = _mm256_or_ps(v, _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_srl_epi32(x, ssh), 31)));
        _mm256_storeu_ps(out + (g >> 4) * ps + (g & 15), v);
    }
    if (!_mm256_testz_si256(wide, wide)) return -1;
    *bad |= !_mm256_testz_si256(any, any);
    return g;
}
#endif

int hwi_dec_row_f32(const void *codes, int code_size, int64_t cols, const int32_t *dec,
                    float *out, int64_t ps)
{
    float scale = ldexpf(1.0f, dec[1]);
    int64_t c = 0;
    int bad = 0;
#ifdef HWI_SIMD
    if (have_avx2()) c = dec_avx2(codes, code_size, cols, dec, scale, out, ps, &bad);
    if (c < 0) return -1;
#endif
    for (; c < cols; c++) {
        uint32_t x = code_size == 1 ? ((const uint8_t *)codes)[c] : ((const uint16_t *)codes)[c];
        if (x >> (dec[2] + dec[3])) return -1;
        out[(c >> 4) * ps + (c & 15)] = dec_one(x, dec, scale, &bad);
    }
    return bad;
}

/* codes [rows x cols] -> lut values, row-major (panel_rows 0) or packed in
 * panels of panel_rows rows (pad columns of the last panel zeroed); returns
 * the number of rows holding a non-finite value (or -1 on a bad code) */
static int64_t lut_f32_run(const void *codes, int code_size, int64_t rows, int64_t cols,
                           const float *lut, int64_t lut_n, float *out, int64_t panel_rows)
{
    int64_t r, bad = 0, tail = cols % PW, last = (cols / PW) * panel_rows * PW;
    for (r = 0; r < rows; r++) {
        int got = hwi_lut_row_f32((const char *)codes + (size_t)(r * cols) * (size_t)code_size,
                                  code_size, cols, lut, lut_n,
                                  panel_rows ? out + r * PW : out + r * cols,
                                  panel_rows ? panel_rows * PW : PW);
        if (got < 0) return -1;
        bad += got;
        if (panel_rows && tail)
            memset(out + last + r * PW + tail, 0, sizeof(float) * (size_t)(PW - tail));
    }
    return bad;
}

int hw_mac_lut_f32(const void *codes, int code_size, int64_t rows, int64_t cols,
                   const float *lut, int64_t lut_n, float *out, int64_t panel_rows,
                   int64_t *nonfinite)
{
    int64_t bad;
    if (!hwi_valid_code_size(code_size) || rows < 0 || cols < 0 || lut_n < 1 || !nonfinite ||
        (panel_rows != 0 && panel_rows < rows))
        return HW_E_SIZE;
    if (rows && cols && (!codes || !lut || !out)) return HW_E_SIZE;
    bad = lut_f32_run(codes, code_size, rows, cols, lut, lut_n, out, panel_rows);
    if (bad < 0) return HW_E_CODE;
    *nonfinite = bad;
    return HW_OK;
}

/* 1: lut[i] = i (uint8 codes), 2: lut[i] = the int8 value of i, 0: another table */
static int byte_lut_kind(const int32_t *lut)
{
    int i, u = 1, s = 1;
    for (i = 0; i < 256; i++) {
        u &= lut[i] == i;
        s &= lut[i] == (i < 128 ? i : i - 256);
    }
    return u ? 1 : s ? 2 : 0;
}

/* value - z, modulo 2^32 as the table loop (loops GCC vectorises: byte widening) */
static void widen_u8(const uint8_t *x, int32_t *o, int64_t n, uint32_t z)
{
    int64_t c;
    for (c = 0; c < n; c++) o[c] = (int32_t)((uint32_t)x[c] - z);
}

static void widen_s8(const int8_t *x, int32_t *o, int64_t n, uint32_t z)
{
    int64_t c;
    for (c = 0; c < n; c++) o[c] = (int32_t)((uint32_t)(int32_t)x[c] - z);
}

int hw_mac_lut_i32(const void *codes, int code_size, int64_t rows, int64_t cols,
                   const int32_t *lut, int64_t lut_n, const int32_t *zp, int32_t zp_per_row,
                   int32_t *out, int32_t pack)
{
    int64_t r, c;
    if (!hwi_valid_code_size(code_size) || rows < 0 || cols < 0 || lut_n < 1) return HW_E_SIZE;
    if (rows && cols && (!codes || !lut || !out)) return HW_E_SIZE;
    if (pack) memset(out, 0, sizeof(int32_t) * (size_t)(((cols + PW - 1) / PW) * PW * rows));
    if (code_size == 1 && !pack && lut_n >= 256) { /* rows of byte codes: no code too large */
        const uint8_t *cc = (const uint8_t *)codes;
        const int kind = byte_lut_kind(lut);
        if (kind && !(zp && !zp_per_row)) { /* uint8 / int8 codes: a widening, no gather */
            for (r = 0; r < rows; r++) {
                const uint32_t z = (uint32_t)(zp ? zp[zp_per_row ? r : 0] : 0);
                if (kind == 1) widen_u8(cc + r * cols, out + r * cols, cols, z);
                else widen_s8((const int8_t *)(cc + r * cols), out + r * cols, cols, z);
            }
            return HW_OK;
        }
        for (r = 0; r < rows; r++) {
            const uint32_t z = (uint32_t)(zp ? zp[zp_per_row ? r : 0] : 0);
            const uint8_t *row = cc + r * cols;
            int32_t *orow = out + r * cols;
            if (zp && !zp_per_row) {
                for (c = 0; c < cols; c++) orow[c] = (int32_t)((uint32_t)lut[row[c]] - (uint32_t)zp[c]);
            } else {
                for (c = 0; c < cols; c++) orow[c] = (int32_t)((uint32_t)lut[row[c]] - z);
            }
        }
        return HW_OK;
    }
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
