/* hw_mac_vnni.c -- the stepped integer register with statistics on AVX-512
 * VNNI (hw_mac_i32_steps' first choice, dispatched at run time).
 *
 * Speculation: the kernel steps the exact partial sums S = init + a*b + ...
 * (+ fin) in int32 lanes, one product per step (vpdpwssd with the high int16
 * half of a zeroed -- a copy of the block's 4 rows of a when both a and b
 * have negative values, else one of the two has it zero already: one fused multiply-add per product and
 * lane), and tracks
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
#include <stdlib.h>
#include "hw_internal.h"

#define PW 16
#define RB 4 /* rows per block */

#ifdef HWI_SIMD
#include <immintrin.h>

#define HWI_VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512cd,avx512vnni")))

static int have_vnni512(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512cd") && __builtin_cpu_supports("avx512vnni");
}

/* lo / hi: the least and the greatest of x[0..len), 0 included */
HWI_VNNI_TARGET
static void range_i32(const int32_t *x, int64_t len, int64_t *lo, int64_t *hi)
{
    __m512i l = _mm512_setzero_si512(), h = l;
    int64_t i;
    for (i = 0; i + PW <= len; i += PW) {
        const __m512i v = _mm512_loadu_si512(x + i);
        l = _mm512_min_epi32(l, v);
        h = _mm512_max_epi32(h, v);
    }
    if (i < len) {
        const __mmask16 t = (__mmask16)((1u << (len - i)) - 1);
        const __m512i v = _mm512_maskz_loadu_epi32(t, x + i);
        l = _mm512_min_epi32(l, v);
        h = _mm512_max_epi32(h, v);
    }
    *lo = _mm512_reduce_min_epi32(l);
    *hi = _mm512_reduce_max_epi32(h);
}

/* the kernel's preconditions on this call's data; *neg: a and b both have a
 * negative value (the kernel then needs a with its high int16 half zeroed) */
static int spec_applies(const int32_t *a, const int32_t *bp, const int32_t *init,
                        const int32_t *fin, int64_t m, int64_t n, int64_t k, int *neg)
{
    int64_t alo, ahi, blo, bhi, lo, hi, amax, bmax, room;
    const int64_t npan = (n + PW - 1) / PW;
    range_i32(a, m * k, &alo, &ahi);
    range_i32(bp, npan * k * PW, &blo, &bhi);
    if (alo < -32768 || ahi > 32767 || blo < -32768 || bhi > 32767) return 0;
    amax = -alo > ahi ? -alo : ahi;
    bmax = -blo > bhi ? -blo : bhi;
    *neg = alo < 0 && blo < 0;
    room = INT32_MAX;
    if (init) {
        range_i32(init, n, &lo, &hi);
        room -= -lo > hi ? -lo : hi;
    }
    if (fin) {
        range_i32(fin, n, &lo, &hi);
        room -= -lo > hi ? -lo : hi;
    }
    if (room < 0) return 0;
    return amax * bmax == 0 || k <= room / (amax * bmax);
}

/* lo16[i] = a[i] & 0xFFFF (a[i] in int16 range): with a's high int16 half zero
 * vpdpwssd's pair product is a * b whatever b's high half holds */
HWI_VNNI_TARGET
static void low_halves(const int32_t *a, int64_t len, int32_t *lo16)
{
    const __m512i low16 = _mm512_set1_epi32(0xFFFF);
    int64_t i;
    for (i = 0; i + PW <= len; i += PW)
        _mm512_storeu_si512(lo16 + i, _mm512_and_si512(_mm512_loadu_si512(a + i), low16));
    for (; i < len; i++) lo16[i] = a[i] & 0xFFFF;
}

/* the signed width of every lane: 33 - clz(v < 0 ? ~v : v), 1 for 0 and -1 */
HWI_VNNI_TARGET
static inline __m512i width_v(__m512i v)
{
    const __m512i t = _mm512_xor_si512(v, _mm512_srai_epi32(v, 31));
    return _mm512_sub_epi32(_mm512_set1_epi32(33), _mm512_lzcnt_epi32(t));
}

/* write one vector's outputs (lanes `t`) from output index o0: the result c,
 * no events, max |sum| = max(hi, -lo), the width of hi / lo; returns 1 when one
 * of them left the register's range [vlo, vhi] */
HWI_VNNI_TARGET
static int emit(__m512i c, __m512i h, __m512i l, __mmask16 t, int64_t o0, int32_t *out,
                int32_t *events, int64_t *max_abs, int32_t *width, __m512i vlo, __m512i vhi)
{
    if (!t) return 0;
    _mm512_mask_storeu_epi32(out + o0, t, c);
    if (events) _mm512_mask_storeu_epi32(events + o0, t, _mm512_setzero_si512());
    if (max_abs) { /* |sums| <= 2^31 - 1 (spec_applies): -l does not overflow */
        const __m512i mx = _mm512_max_epi32(h, _mm512_sub_epi32(_mm512_setzero_si512(), l));
        _mm512_mask_storeu_epi64(max_abs + o0, (__mmask8)t,
                                 _mm512_cvtepi32_epi64(_mm512_castsi512_si256(mx)));
        _mm512_mask_storeu_epi64(max_abs + o0 + 8, (__mmask8)(t >> 8),
                                 _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(mx, 1)));
    }
    if (width) _mm512_mask_storeu_epi32(width + o0, t, _mm512_max_epi32(width_v(h), width_v(l)));
    return (_mm512_mask_cmpgt_epi32_mask(t, h, vhi) | _mm512_mask_cmplt_epi32_mask(t, l, vlo)) != 0;
}

/* c += a * b per int32 lane (a's high int16 half zero, or b's): one vpdpwssd.
 * An asm statement rather than the intrinsic: GCC 12 copies the accumulator
 * in and out of a scratch register around every intrinsic (2 vmovdqa per
 * product step); "+v" keeps it in place. */
#if defined(__x86_64__) && defined(__GNUC__)
#define DPW(c, av, b) __asm__("vpdpwssd %2, %1, %0" : "+v"(c) : "v"(av), "v"(b))
#else
#define DPW(c, av, b) ((c) = _mm512_dpwssd_epi32((c), (av), (b)))
#endif

#define VDECL(r)                                                                             \
    __m512i c##r##0 = ci0, c##r##1 = ci1, h##r##0 = ci0, h##r##1 = ci1, l##r##0 = ci0,       \
            l##r##1 = ci1
#define VSTEP(r, av)                                                                         \
    do {                                                                                     \
        const __m512i av_ = (av);                                                            \
        DPW(c##r##0, av_, b0);                                                               \
        DPW(c##r##1, av_, b1);                                                               \
        HWI_MAXMIN2(h##r##0, h##r##1, l##r##0, l##r##1, c##r##0, c##r##1);                  \
    } while (0)
#define VFIN(r)                                                                              \
    do {                                                                                     \
        c##r##0 = _mm512_add_epi32(c##r##0, f0);                                              \
        c##r##1 = _mm512_add_epi32(c##r##1, f1);                                              \
        HWI_MAXMIN2(h##r##0, h##r##1, l##r##0, l##r##1, c##r##0, c##r##1);                  \
    } while (0)
#define VEMIT(r)                                                                             \
    do {                                                                                     \
        if (r < rows) {                                                                      \
            const int64_t o_ = (i0 + r) * n + cb;                                            \
            const int bad_ = emit(c##r##0, h##r##0, l##r##0, t0, o_, out, events, max_abs,   \
                                  width, vlo, vhi) |                                         \
                             emit(c##r##1, h##r##1, l##r##1, t1, o_ + PW, out, events,       \
                                  max_abs, width, vlo, vhi);                                 \
            bad[(i0 + r) * npair + p / 2] = (uint8_t)bad_;                                   \
        }                                                                                    \
    } while (0)

HWI_VNNI_TARGET
static void spec_kernel(const int32_t *a, const int32_t *bp, const int32_t *init,
                        const int32_t *fin, int32_t *out, int32_t *events, int64_t *max_abs,
                        int32_t *width, int64_t m, int64_t n, int64_t k, int32_t bits,
                        uint8_t *bad, int32_t *lo16)
{
    const int32_t rhi = (int32_t)((1u << (bits - 1)) - 1), rlo = -rhi - 1;
    const int64_t npan = (n + PW - 1) / PW, npair = (npan + 1) / 2;
    int64_t i0, p, kk;
    for (i0 = 0; i0 < m; i0 += RB) {
        const int rows = (int)(m - i0 < RB ? m - i0 : RB);
        /* lo16 (RB rows of k): this block's rows of a with their high halves zeroed */
        const int32_t *ar = lo16 ? lo16 : a + i0 * k;
        const int32_t *a0 = ar, *a1 = ar + (rows > 1) * k;
        const int32_t *a2 = ar + (rows > 2) * 2 * k, *a3 = ar + (rows > 3) * 3 * k;
        if (lo16) low_halves(a + i0 * k, rows * k, lo16);
        for (p = 0; p < npan; p += 2) {
            const int64_t cb = p * PW;
            const int32_t *q0 = bp + p * k * PW, *q1 = bp + (p + 1 < npan ? p + 1 : p) * k * PW;
            const int cols = (int)(n - cb < 2 * PW ? n - cb : 2 * PW);
            /* init / fin are padded to groups of 32 columns */
            const __m512i ci0 = init ? _mm512_loadu_si512(init + cb) : _mm512_setzero_si512();
            const __m512i ci1 = init ? _mm512_loadu_si512(init + cb + PW) : _mm512_setzero_si512();
            __mmask16 t0, t1;
            __m512i vlo, vhi;
            VDECL(0); VDECL(1); VDECL(2); VDECL(3);
            for (kk = 0; kk < k; kk++) {
                const __m512i b0 = _mm512_loadu_si512(q0 + kk * PW);
                const __m512i b1 = _mm512_loadu_si512(q1 + kk * PW);
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
            /* constants set after the loop: fewer live registers in it */
            t0 = (__mmask16)(cols >= PW ? 0xFFFFu : (1u << cols) - 1);
            t1 = (__mmask16)(cols >= 2 * PW ? 0xFFFFu : cols > PW ? (1u << (cols - PW)) - 1 : 0);
            vlo = _mm512_set1_epi32(rlo);
            vhi = _mm512_set1_epi32(rhi);
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
    int neg = 0;
    int32_t *lo16 = NULL;
    if (!spec_applies(a, bp, init, fin, m, n, k, &neg)) return 0;
    if (neg) { /* a * b needs one of the two with its high int16 half zero */
        lo16 = (int32_t *)malloc((size_t)(RB * k) * sizeof(int32_t));
        if (!lo16) return 0;
    }
    spec_kernel(a, bp, init, fin, out, events, max_abs, width, m, n, k, bits, bad, lo16);
    free(lo16);
    return 1;
#else
    (void)a; (void)bp; (void)init; (void)fin; (void)out; (void)events; (void)max_abs;
    (void)width; (void)m; (void)n; (void)k; (void)bits; (void)bad;
    return 0;
#endif
}
