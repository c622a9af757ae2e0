/* hw_mac_vnni.c -- the stepped integer register with statistics on AVX-512
 * VNNI (hw_mac_i32_steps' first choice, dispatched at run time).
 *
 * Speculation: the kernel steps the exact partial sums S = init + a*b + ...
 * (+ fin) in int32 lanes, one product per step (vpdpwssd with the high int16
 * half of b zeroed: one fused multiply-add per product and lane), and tracks
 * their maximum and minimum.  An output whose partial sums all lie in the
 * register's range [-2^(bits-1), 2^(bits-1) - 1] had no overflow event, so
 * its register held exactly those sums: result = the last sum, events = 0,
 * max |sum| = max(hi, -lo), bits needed = the signed width of hi / lo (the
 * statistics of hw_mac_gemm / the reference, docs/semantics.md "MAC
 * statistics").  Any other output flags its block of 32 columns:
 * bad[i * ceil(n / 32) + j / 32] = 1, for the caller to step again exactly.
 *
 * Preconditions checked here (else nothing is written and 0 returned):
 * every a and b value in int16 range, and |init| + k * max|a| * max|b| +
 * |fin| <= 2^31 - 1 (no int32 partial sum can overflow). */
#include "hw_internal.h"

#define PW 16
#define RB 4 /* rows per block */

#ifdef HWI_SIMD
#include <immintrin.h>

static int have_vnni512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vnni");
}

static int64_t max_abs_i32(const int32_t *x, int64_t len, int64_t *lo, int64_t *hi)
{
    int64_t mx = 0, i, l = 0, h = 0;
    for (i = 0; i < len; i++) {
        int64_t v = x[i];
        if (v < l) l = v;
        if (v > h) h = v;
    }
    mx = -l > h ? -l : h;
    if (lo) *lo = l;
    if (hi) *hi = h;
    return mx;
}

/* the kernel's preconditions on this call's data */
static int spec_applies(const int32_t *a, const int32_t *bp, const int32_t *init,
                        const int32_t *fin, int64_t m, int64_t n, int64_t k)
{
    int64_t alo, ahi, blo, bhi, amax, bmax, room;
    const int64_t npan = (n + PW - 1) / PW;
    amax = max_abs_i32(a, m * k, &alo, &ahi);
    bmax = max_abs_i32(bp, npan * k * PW, &blo, &bhi);
    if (alo < -32768 || ahi > 32767 || blo < -32768 || bhi > 32767) return 0;
    room = INT32_MAX;
    if (init) room -= max_abs_i32(init, n, NULL, NULL);
    if (fin) room -= max_abs_i32(fin, n, NULL, NULL);
    if (room < 0) return 0;
    return amax * bmax == 0 || k <= room / (amax * bmax);
}

static inline int32_t width32(int32_t v)
{
    uint32_t t = (uint32_t)(v < 0 ? ~v : v);
    return t ? 33 - __builtin_clz(t) : 1;
}

/* write one vector's outputs (cols of them) of row o0 (an output index);
 * returns 1 when one of them left the register's range */
static int emit(const int32_t *t_c, const int32_t *t_h, const int32_t *t_l, int cols,
                int64_t o0, int32_t *out, int32_t *events, int64_t *max_abs, int32_t *width,
                int32_t rlo, int32_t rhi)
{
    int q, bad = 0;
    for (q = 0; q < cols; q++) {
        int64_t h = t_h[q], l = t_l[q];
        int32_t w1 = width32(t_h[q]), w2 = width32(t_l[q]);
        out[o0 + q] = t_c[q];
        if (events) events[o0 + q] = 0;
        if (max_abs) max_abs[o0 + q] = h > -l ? h : -l;
        if (width) width[o0 + q] = w1 > w2 ? w1 : w2;
        bad |= h > rhi || l < rlo;
    }
    return bad;
}

#define VDECL(r)                                                                             \
    __m512i c##r##0 = ci0, c##r##1 = ci1, h##r##0 = ci0, h##r##1 = ci1, l##r##0 = ci0,       \
            l##r##1 = ci1
#define VSTEP(r, av)                                                                         \
    do {                                                                                     \
        c##r##0 = _mm512_dpwssd_epi32(c##r##0, av, b0);                                       \
        c##r##1 = _mm512_dpwssd_epi32(c##r##1, av, b1);                                       \
        h##r##0 = _mm512_max_epi32(h##r##0, c##r##0);                                         \
        h##r##1 = _mm512_max_epi32(h##r##1, c##r##1);                                         \
        l##r##0 = _mm512_min_epi32(l##r##0, c##r##0);                                         \
        l##r##1 = _mm512_min_epi32(l##r##1, c##r##1);                                         \
    } while (0)
#define VFIN(r)                                                                              \
    do {                                                                                     \
        c##r##0 = _mm512_add_epi32(c##r##0, f0);                                              \
        c##r##1 = _mm512_add_epi32(c##r##1, f1);                                              \
        h##r##0 = _mm512_max_epi32(h##r##0, c##r##0);                                         \
        h##r##1 = _mm512_max_epi32(h##r##1, c##r##1);                                         \
        l##r##0 = _mm512_min_epi32(l##r##0, c##r##0);                                         \
        l##r##1 = _mm512_min_epi32(l##r##1, c##r##1);                                         \
    } while (0)
#define VEMIT(r)                                                                             \
    do {                                                                                     \
        if (r < rows) {                                                                      \
            int64_t o_ = (i0 + r) * n + cb;                                                  \
            int bad_ = 0;                                                                    \
            _mm512_storeu_si512(t_c, c##r##0); _mm512_storeu_si512(t_c + PW, c##r##1);       \
            _mm512_storeu_si512(t_h, h##r##0); _mm512_storeu_si512(t_h + PW, h##r##1);       \
            _mm512_storeu_si512(t_l, l##r##0); _mm512_storeu_si512(t_l + PW, l##r##1);       \
            bad_ = emit(t_c, t_h, t_l, cols, o_, out, events, max_abs, width, rlo, rhi);     \
            bad[(i0 + r) * npair + p / 2] = (uint8_t)bad_;                                \
        }                                                                                    \
    } while (0)

__attribute__((target("avx512f,avx512bw,avx512vnni")))
static void spec_kernel(const int32_t *a, const int32_t *bp, const int32_t *init,
                        const int32_t *fin, int32_t *out, int32_t *events, int64_t *max_abs,
                        int32_t *width, int64_t m, int64_t n, int64_t k, int32_t bits,
                        uint8_t *bad)
{
    const int32_t rhi = (int32_t)((1u << (bits - 1)) - 1), rlo = -rhi - 1;
    const int64_t npan = (n + PW - 1) / PW, npair = (npan + 1) / 2;
    const __m512i low16 = _mm512_set1_epi32(0xFFFF);
    int32_t t_c[2 * PW], t_h[2 * PW], t_l[2 * PW];
    int64_t i0, p, kk;
    for (i0 = 0; i0 < m; i0 += RB) {
        const int rows = (int)(m - i0 < RB ? m - i0 : RB);
        const int32_t *a0 = a + i0 * k, *a1 = a + (i0 + (rows > 1)) * k;
        const int32_t *a2 = a + (i0 + (rows > 2) * 2) * k, *a3 = a + (i0 + (rows > 3) * 3) * k;
        for (p = 0; p < npan; p += 2) {
            const int64_t cb = p * PW;
            const int32_t *q0 = bp + p * k * PW, *q1 = bp + (p + 1 < npan ? p + 1 : p) * k * PW;
            const int cols = (int)(n - cb < 2 * PW ? n - cb : 2 * PW);
            /* init / fin are padded to groups of 32 columns */
            const __m512i ci0 = init ? _mm512_loadu_si512(init + cb) : _mm512_setzero_si512();
            const __m512i ci1 = init ? _mm512_loadu_si512(init + cb + PW) : _mm512_setzero_si512();
            VDECL(0); VDECL(1); VDECL(2); VDECL(3);
            for (kk = 0; kk < k; kk++) {
                /* b's high int16 half zeroed: the pair product is a * b alone */
                const __m512i b0 = _mm512_and_si512(_mm512_loadu_si512(q0 + kk * PW), low16);
                const __m512i b1 = _mm512_and_si512(_mm512_loadu_si512(q1 + kk * PW), low16);
                VSTEP(0, _mm512_set1_epi32(a0[kk]));
                VSTEP(1, _mm512_set1_epi32(a1[kk]));
                VSTEP(2, _mm512_set1_epi32(a2[kk]));
                VSTEP(3, _mm512_set1_epi32(a3[kk]));
            }
            if (fin) {
                const __m512i f0 = _mm512_loadu_si512(fin + cb);
                const __m512i f1 = _mm512_loadu_si512(fin + cb + PW);
                VFIN(0); VFIN(1); VFIN(2); VFIN(3);
            }
            VEMIT(0); VEMIT(1); VEMIT(2); VEMIT(3);
        }
    }
}
#endif

int hwi_i32_steps_vnni(const int32_t *a, const int32_t *bp, const int32_t *init,
                       const int32_t *fin, int32_t *out, int32_t *events, int64_t *max_abs,
                       int32_t *width, int64_t m, int64_t n, int64_t k, int32_t bits,
                       uint8_t *bad)
{
#ifdef HWI_SIMD
    if (m <= 0 || n <= 0 || k <= 0 || bits < 2 || bits > 32 || !have_vnni512()) return 0;
    if (!spec_applies(a, bp, init, fin, m, n, k)) return 0;
    spec_kernel(a, bp, init, fin, out, events, max_abs, width, m, n, k, bits, bad);
    return 1;
#else
    (void)a; (void)bp; (void)init; (void)fin; (void)out; (void)events; (void)max_abs;
    (void)width; (void)m; (void)n; (void)k; (void)bits; (void)bad;
    return 0;
#endif
}
