/* hw_mac_f32_kern.h -- the register kernels of the sequential floating
 * accumulators (hw_mac_f32_kern.c) as the blocked driver (hw_mac_fast_f32.c)
 * calls them: one call runs the k steps of one cache block.  Internal. */
#ifndef HW_MAC_F32_KERN_H
#define HW_MAC_F32_KERN_H

#include "hw_internal.h"

#define PW 16 /* columns per packed panel of b */

/* One call of a kernel: rows [0, m) of a block of A (row r at a + r * lda),
 * k steps kk = 0..kc-1 of every panel of b (panel p at b + p * pst, step kk
 * at + kk * PW), registers loaded from init (first k block) or from out /
 * mx / ev (later ones), fin added and bail written after the last. */
typedef struct blk {
    const float *a, *b, *init, *fin;
    int64_t lda, pst, kc, m, n, ldo; /* ldo: row stride of out / mx / ev / bail */
    int first, last;
    float *out, *mx;
    int32_t *ev;
    uint8_t *bail;
    int fmt, mode; /* narrow registers: 0 binary16 / 1 bfloat16; see narrow_add */
} blk;

/* binary32 rne, portable C (any CPU) */
void hwi_f32_portable(const blk *B);
#ifdef HWI_SIMD
/* binary32 rne / rtz (MXCSR), AVX2 + FMA: 6 x 16 tiles, or 3 x 16 with max |acc| */
__attribute__((target("avx2,fma"))) void hwi_f32_run6(const blk *B);
__attribute__((target("avx2,fma"))) void hwi_f32_run3(const blk *B);
/* the same with max |acc| in 6 x 16 tiles of 512-bit registers (AVX-512F + DQ: vrangeps) */
__attribute__((target("avx512f,avx512dq,fma"))) void hwi_f32_run6z(const blk *B);
/* binary16 / bfloat16 registers (B->fmt, B->mode), AVX2 + FMA + F16C; _x:
 * the same with max |register| by vrangeps (AVX-512VL + DQ) */
__attribute__((target("avx2,fma,f16c"))) void hwi_narrow_run(const blk *B);
__attribute__((target("avx2,fma,f16c,avx512f,avx512vl,avx512dq"))) void hwi_narrow_run_x(const blk *B);
#endif

#endif /* HW_MAC_F32_KERN_H */
