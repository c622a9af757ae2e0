/* floor_kernels.c -- instruction-level throughput of the integer statistics loop
 * (benchmarks/bench_stats_floor.py builds it with cffi at run time; it is not part of
 * the hwsim library).  Each loop is one asm block over registers only (no memory
 * traffic, register allocation fixed by hand), 8 independent accumulators, and
 * measures how many vpdpbusd per second the execution units sustain with and without
 * the vector instructions of exact statistics beside them:
 *   0 dp       vpdpbusd only (the stats-off kernels' inner loop);
 *   1 dp_mm    vpdpbusd + vpmaxsd + vpminsd per register state: the exact running
 *              max and min of every group partial sum (fan_in = 4, uint8 x int8);
 *   2 dp_amm   the same + vpaddd (int8 x int8: the per-group correction of the
 *              unsigned offset);
 *   3 dp2_mm   two vpdpbusd per state (fan_in = 8);
 *   4 dp4_mm   four vpdpbusd per state (fan_in = 16);
 *   5 mm       vpmaxsd + vpminsd only: the rate at which the vector units take the
 *              statistics of one register state (16 int32 lanes), whatever feeds it;
 *              with fan_in = 1 every product is a state, so 16 products per pair;
 *   6 dp_mm_b  as 1, the 8 vpdpbusd first and then the 16 max / min (the order of
 *              hw_mac_dot.c's tile): the better of 1 and 6 is the ceiling.
 * floor_loop returns 0, or -1 without AVX-512 VNNI / on another architecture. */
#include <stdint.h>

#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_X86 1
#endif

#ifdef HAVE_X86
static int vnni(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vnni");
}
/* vpdpbusd only */
__attribute__((noinline, target("avx512f,avx512bw,avx512vnni"))) static void dp_(int64_t n, int32_t *sink)
{
    __asm__ volatile(
        "vpbroadcastd %[one], %%zmm29\n\t"
        "vpbroadcastd %[bb], %%zmm30\n\t"
        "vpbroadcastd %[cc], %%zmm31\n\t"
        "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
        "vpxord %%zmm1, %%zmm1, %%zmm1\n\t"
        "vpxord %%zmm2, %%zmm2, %%zmm2\n\t"
        "vpxord %%zmm3, %%zmm3, %%zmm3\n\t"
        "vpxord %%zmm4, %%zmm4, %%zmm4\n\t"
        "vpxord %%zmm5, %%zmm5, %%zmm5\n\t"
        "vpxord %%zmm6, %%zmm6, %%zmm6\n\t"
        "vpxord %%zmm7, %%zmm7, %%zmm7\n\t"
        "vpxord %%zmm8, %%zmm8, %%zmm8\n\t"
        "vpxord %%zmm9, %%zmm9, %%zmm9\n\t"
        "vpxord %%zmm10, %%zmm10, %%zmm10\n\t"
        "vpxord %%zmm11, %%zmm11, %%zmm11\n\t"
        "vpxord %%zmm12, %%zmm12, %%zmm12\n\t"
        "vpxord %%zmm13, %%zmm13, %%zmm13\n\t"
        "vpxord %%zmm14, %%zmm14, %%zmm14\n\t"
        "vpxord %%zmm15, %%zmm15, %%zmm15\n\t"
        "vpxord %%zmm16, %%zmm16, %%zmm16\n\t"
        "vpxord %%zmm17, %%zmm17, %%zmm17\n\t"
        "vpxord %%zmm18, %%zmm18, %%zmm18\n\t"
        "vpxord %%zmm19, %%zmm19, %%zmm19\n\t"
        "vpxord %%zmm20, %%zmm20, %%zmm20\n\t"
        "vpxord %%zmm21, %%zmm21, %%zmm21\n\t"
        "vpxord %%zmm22, %%zmm22, %%zmm22\n\t"
        "vpxord %%zmm23, %%zmm23, %%zmm23\n\t"
        "1:\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm0\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm1\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm2\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm3\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm4\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm5\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm6\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm7\n\t"
        "dec %[n]\n\t"
        "jnz 1b\n\t"
        "vpaddd %%zmm8, %%zmm0, %%zmm0\n\t"
        "vpaddd %%zmm16, %%zmm0, %%zmm0\n\t"
        "vmovdqu32 %%zmm0, (%[sink])\n\t"
        "vzeroupper\n\t"
        : [n] "+r"(n)
        : [one] "r"(0x01010101), [bb] "r"(0x01fe02fd), [cc] "r"(-3), [sink] "r"(sink)
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "memory", "cc");
}

/* vpdpbusd, max, min */
__attribute__((noinline, target("avx512f,avx512bw,avx512vnni"))) static void dp_mm_(int64_t n, int32_t *sink)
{
    __asm__ volatile(
        "vpbroadcastd %[one], %%zmm29\n\t"
        "vpbroadcastd %[bb], %%zmm30\n\t"
        "vpbroadcastd %[cc], %%zmm31\n\t"
        "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
        "vpxord %%zmm1, %%zmm1, %%zmm1\n\t"
        "vpxord %%zmm2, %%zmm2, %%zmm2\n\t"
        "vpxord %%zmm3, %%zmm3, %%zmm3\n\t"
        "vpxord %%zmm4, %%zmm4, %%zmm4\n\t"
        "vpxord %%zmm5, %%zmm5, %%zmm5\n\t"
        "vpxord %%zmm6, %%zmm6, %%zmm6\n\t"
        "vpxord %%zmm7, %%zmm7, %%zmm7\n\t"
        "vpxord %%zmm8, %%zmm8, %%zmm8\n\t"
        "vpxord %%zmm9, %%zmm9, %%zmm9\n\t"
        "vpxord %%zmm10, %%zmm10, %%zmm10\n\t"
        "vpxord %%zmm11, %%zmm11, %%zmm11\n\t"
        "vpxord %%zmm12, %%zmm12, %%zmm12\n\t"
        "vpxord %%zmm13, %%zmm13, %%zmm13\n\t"
        "vpxord %%zmm14, %%zmm14, %%zmm14\n\t"
        "vpxord %%zmm15, %%zmm15, %%zmm15\n\t"
        "vpxord %%zmm16, %%zmm16, %%zmm16\n\t"
        "vpxord %%zmm17, %%zmm17, %%zmm17\n\t"
        "vpxord %%zmm18, %%zmm18, %%zmm18\n\t"
        "vpxord %%zmm19, %%zmm19, %%zmm19\n\t"
        "vpxord %%zmm20, %%zmm20, %%zmm20\n\t"
        "vpxord %%zmm21, %%zmm21, %%zmm21\n\t"
        "vpxord %%zmm22, %%zmm22, %%zmm22\n\t"
        "vpxord %%zmm23, %%zmm23, %%zmm23\n\t"
        "1:\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm0\n\t"
        "vpmaxsd %%zmm0, %%zmm8, %%zmm8\n\t"
        "vpminsd %%zmm0, %%zmm16, %%zmm16\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm1\n\t"
        "vpmaxsd %%zmm1, %%zmm9, %%zmm9\n\t"
        "vpminsd %%zmm1, %%zmm17, %%zmm17\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm2\n\t"
        "vpmaxsd %%zmm2, %%zmm10, %%zmm10\n\t"
        "vpminsd %%zmm2, %%zmm18, %%zmm18\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm3\n\t"
        "vpmaxsd %%zmm3, %%zmm11, %%zmm11\n\t"
        "vpminsd %%zmm3, %%zmm19, %%zmm19\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm4\n\t"
        "vpmaxsd %%zmm4, %%zmm12, %%zmm12\n\t"
        "vpminsd %%zmm4, %%zmm20, %%zmm20\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm5\n\t"
        "vpmaxsd %%zmm5, %%zmm13, %%zmm13\n\t"
        "vpminsd %%zmm5, %%zmm21, %%zmm21\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm6\n\t"
        "vpmaxsd %%zmm6, %%zmm14, %%zmm14\n\t"
        "vpminsd %%zmm6, %%zmm22, %%zmm22\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm7\n\t"
        "vpmaxsd %%zmm7, %%zmm15, %%zmm15\n\t"
        "vpminsd %%zmm7, %%zmm23, %%zmm23\n\t"
        "dec %[n]\n\t"
        "jnz 1b\n\t"
        "vpaddd %%zmm8, %%zmm0, %%zmm0\n\t"
        "vpaddd %%zmm16, %%zmm0, %%zmm0\n\t"
        "vmovdqu32 %%zmm0, (%[sink])\n\t"
        "vzeroupper\n\t"
        : [n] "+r"(n)
        : [one] "r"(0x01010101), [bb] "r"(0x01fe02fd), [cc] "r"(-3), [sink] "r"(sink)
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "memory", "cc");
}

/* vpdpbusd x 8, then the 16 max / min */
__attribute__((noinline, target("avx512f,avx512bw,avx512vnni"))) static void dp_mm_b(int64_t n, int32_t *sink)
{
    __asm__ volatile(
        "vpbroadcastd %[one], %%zmm29\n\t"
        "vpbroadcastd %[bb], %%zmm30\n\t"
        "vpbroadcastd %[cc], %%zmm31\n\t"
        "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
        "vpxord %%zmm1, %%zmm1, %%zmm1\n\t"
        "vpxord %%zmm2, %%zmm2, %%zmm2\n\t"
        "vpxord %%zmm3, %%zmm3, %%zmm3\n\t"
        "vpxord %%zmm4, %%zmm4, %%zmm4\n\t"
        "vpxord %%zmm5, %%zmm5, %%zmm5\n\t"
        "vpxord %%zmm6, %%zmm6, %%zmm6\n\t"
        "vpxord %%zmm7, %%zmm7, %%zmm7\n\t"
        "vpxord %%zmm8, %%zmm8, %%zmm8\n\t"
        "vpxord %%zmm9, %%zmm9, %%zmm9\n\t"
        "vpxord %%zmm10, %%zmm10, %%zmm10\n\t"
        "vpxord %%zmm11, %%zmm11, %%zmm11\n\t"
        "vpxord %%zmm12, %%zmm12, %%zmm12\n\t"
        "vpxord %%zmm13, %%zmm13, %%zmm13\n\t"
        "vpxord %%zmm14, %%zmm14, %%zmm14\n\t"
        "vpxord %%zmm15, %%zmm15, %%zmm15\n\t"
        "vpxord %%zmm16, %%zmm16, %%zmm16\n\t"
        "vpxord %%zmm17, %%zmm17, %%zmm17\n\t"
        "vpxord %%zmm18, %%zmm18, %%zmm18\n\t"
        "vpxord %%zmm19, %%zmm19, %%zmm19\n\t"
        "vpxord %%zmm20, %%zmm20, %%zmm20\n\t"
        "vpxord %%zmm21, %%zmm21, %%zmm21\n\t"
        "vpxord %%zmm22, %%zmm22, %%zmm22\n\t"
        "vpxord %%zmm23, %%zmm23, %%zmm23\n\t"
        "1:\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm0\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm1\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm2\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm3\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm4\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm5\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm6\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm7\n\t"
        "vpmaxsd %%zmm0, %%zmm8, %%zmm8\n\t"
        "vpminsd %%zmm0, %%zmm16, %%zmm16\n\t"
        "vpmaxsd %%zmm1, %%zmm9, %%zmm9\n\t"
        "vpminsd %%zmm1, %%zmm17, %%zmm17\n\t"
        "vpmaxsd %%zmm2, %%zmm10, %%zmm10\n\t"
        "vpminsd %%zmm2, %%zmm18, %%zmm18\n\t"
        "vpmaxsd %%zmm3, %%zmm11, %%zmm11\n\t"
        "vpminsd %%zmm3, %%zmm19, %%zmm19\n\t"
        "vpmaxsd %%zmm4, %%zmm12, %%zmm12\n\t"
        "vpminsd %%zmm4, %%zmm20, %%zmm20\n\t"
        "vpmaxsd %%zmm5, %%zmm13, %%zmm13\n\t"
        "vpminsd %%zmm5, %%zmm21, %%zmm21\n\t"
        "vpmaxsd %%zmm6, %%zmm14, %%zmm14\n\t"
        "vpminsd %%zmm6, %%zmm22, %%zmm22\n\t"
        "vpmaxsd %%zmm7, %%zmm15, %%zmm15\n\t"
        "vpminsd %%zmm7, %%zmm23, %%zmm23\n\t"
        "dec %[n]\n\t"
        "jnz 1b\n\t"
        "vpaddd %%zmm8, %%zmm0, %%zmm0\n\t"
        "vpaddd %%zmm16, %%zmm0, %%zmm0\n\t"
        "vmovdqu32 %%zmm0, (%[sink])\n\t"
        "vzeroupper\n\t"
        : [n] "+r"(n)
        : [one] "r"(0x01010101), [bb] "r"(0x01fe02fd), [cc] "r"(-3), [sink] "r"(sink)
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "memory", "cc");
}

/* vpdpbusd, add, max, min */
__attribute__((noinline, target("avx512f,avx512bw,avx512vnni"))) static void dp_amm_(int64_t n, int32_t *sink)
{
    __asm__ volatile(
        "vpbroadcastd %[one], %%zmm29\n\t"
        "vpbroadcastd %[bb], %%zmm30\n\t"
        "vpbroadcastd %[cc], %%zmm31\n\t"
        "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
        "vpxord %%zmm1, %%zmm1, %%zmm1\n\t"
        "vpxord %%zmm2, %%zmm2, %%zmm2\n\t"
        "vpxord %%zmm3, %%zmm3, %%zmm3\n\t"
        "vpxord %%zmm4, %%zmm4, %%zmm4\n\t"
        "vpxord %%zmm5, %%zmm5, %%zmm5\n\t"
        "vpxord %%zmm6, %%zmm6, %%zmm6\n\t"
        "vpxord %%zmm7, %%zmm7, %%zmm7\n\t"
        "vpxord %%zmm8, %%zmm8, %%zmm8\n\t"
        "vpxord %%zmm9, %%zmm9, %%zmm9\n\t"
        "vpxord %%zmm10, %%zmm10, %%zmm10\n\t"
        "vpxord %%zmm11, %%zmm11, %%zmm11\n\t"
        "vpxord %%zmm12, %%zmm12, %%zmm12\n\t"
        "vpxord %%zmm13, %%zmm13, %%zmm13\n\t"
        "vpxord %%zmm14, %%zmm14, %%zmm14\n\t"
        "vpxord %%zmm15, %%zmm15, %%zmm15\n\t"
        "vpxord %%zmm16, %%zmm16, %%zmm16\n\t"
        "vpxord %%zmm17, %%zmm17, %%zmm17\n\t"
        "vpxord %%zmm18, %%zmm18, %%zmm18\n\t"
        "vpxord %%zmm19, %%zmm19, %%zmm19\n\t"
        "vpxord %%zmm20, %%zmm20, %%zmm20\n\t"
        "vpxord %%zmm21, %%zmm21, %%zmm21\n\t"
        "vpxord %%zmm22, %%zmm22, %%zmm22\n\t"
        "vpxord %%zmm23, %%zmm23, %%zmm23\n\t"
        "1:\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm0\n\t"
        "vpaddd %%zmm31, %%zmm0, %%zmm0\n\t"
        "vpmaxsd %%zmm0, %%zmm8, %%zmm8\n\t"
        "vpminsd %%zmm0, %%zmm16, %%zmm16\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm1\n\t"
        "vpaddd %%zmm31, %%zmm1, %%zmm1\n\t"
        "vpmaxsd %%zmm1, %%zmm9, %%zmm9\n\t"
        "vpminsd %%zmm1, %%zmm17, %%zmm17\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm2\n\t"
        "vpaddd %%zmm31, %%zmm2, %%zmm2\n\t"
        "vpmaxsd %%zmm2, %%zmm10, %%zmm10\n\t"
        "vpminsd %%zmm2, %%zmm18, %%zmm18\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm3\n\t"
        "vpaddd %%zmm31, %%zmm3, %%zmm3\n\t"
        "vpmaxsd %%zmm3, %%zmm11, %%zmm11\n\t"
        "vpminsd %%zmm3, %%zmm19, %%zmm19\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm4\n\t"
        "vpaddd %%zmm31, %%zmm4, %%zmm4\n\t"
        "vpmaxsd %%zmm4, %%zmm12, %%zmm12\n\t"
        "vpminsd %%zmm4, %%zmm20, %%zmm20\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm5\n\t"
        "vpaddd %%zmm31, %%zmm5, %%zmm5\n\t"
        "vpmaxsd %%zmm5, %%zmm13, %%zmm13\n\t"
        "vpminsd %%zmm5, %%zmm21, %%zmm21\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm6\n\t"
        "vpaddd %%zmm31, %%zmm6, %%zmm6\n\t"
        "vpmaxsd %%zmm6, %%zmm14, %%zmm14\n\t"
        "vpminsd %%zmm6, %%zmm22, %%zmm22\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm7\n\t"
        "vpaddd %%zmm31, %%zmm7, %%zmm7\n\t"
        "vpmaxsd %%zmm7, %%zmm15, %%zmm15\n\t"
        "vpminsd %%zmm7, %%zmm23, %%zmm23\n\t"
        "dec %[n]\n\t"
        "jnz 1b\n\t"
        "vpaddd %%zmm8, %%zmm0, %%zmm0\n\t"
        "vpaddd %%zmm16, %%zmm0, %%zmm0\n\t"
        "vmovdqu32 %%zmm0, (%[sink])\n\t"
        "vzeroupper\n\t"
        : [n] "+r"(n)
        : [one] "r"(0x01010101), [bb] "r"(0x01fe02fd), [cc] "r"(-3), [sink] "r"(sink)
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "memory", "cc");
}

/* two vpdpbusd, max, min */
__attribute__((noinline, target("avx512f,avx512bw,avx512vnni"))) static void dp2_mm_(int64_t n, int32_t *sink)
{
    __asm__ volatile(
        "vpbroadcastd %[one], %%zmm29\n\t"
        "vpbroadcastd %[bb], %%zmm30\n\t"
        "vpbroadcastd %[cc], %%zmm31\n\t"
        "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
        "vpxord %%zmm1, %%zmm1, %%zmm1\n\t"
        "vpxord %%zmm2, %%zmm2, %%zmm2\n\t"
        "vpxord %%zmm3, %%zmm3, %%zmm3\n\t"
        "vpxord %%zmm4, %%zmm4, %%zmm4\n\t"
        "vpxord %%zmm5, %%zmm5, %%zmm5\n\t"
        "vpxord %%zmm6, %%zmm6, %%zmm6\n\t"
        "vpxord %%zmm7, %%zmm7, %%zmm7\n\t"
        "vpxord %%zmm8, %%zmm8, %%zmm8\n\t"
        "vpxord %%zmm9, %%zmm9, %%zmm9\n\t"
        "vpxord %%zmm10, %%zmm10, %%zmm10\n\t"
        "vpxord %%zmm11, %%zmm11, %%zmm11\n\t"
        "vpxord %%zmm12, %%zmm12, %%zmm12\n\t"
        "vpxord %%zmm13, %%zmm13, %%zmm13\n\t"
        "vpxord %%zmm14, %%zmm14, %%zmm14\n\t"
        "vpxord %%zmm15, %%zmm15, %%zmm15\n\t"
        "vpxord %%zmm16, %%zmm16, %%zmm16\n\t"
        "vpxord %%zmm17, %%zmm17, %%zmm17\n\t"
        "vpxord %%zmm18, %%zmm18, %%zmm18\n\t"
        "vpxord %%zmm19, %%zmm19, %%zmm19\n\t"
        "vpxord %%zmm20, %%zmm20, %%zmm20\n\t"
        "vpxord %%zmm21, %%zmm21, %%zmm21\n\t"
        "vpxord %%zmm22, %%zmm22, %%zmm22\n\t"
        "vpxord %%zmm23, %%zmm23, %%zmm23\n\t"
        "1:\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm0\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm1\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm2\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm3\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm4\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm5\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm6\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm7\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm0\n\t"
        "vpmaxsd %%zmm0, %%zmm8, %%zmm8\n\t"
        "vpminsd %%zmm0, %%zmm16, %%zmm16\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm1\n\t"
        "vpmaxsd %%zmm1, %%zmm9, %%zmm9\n\t"
        "vpminsd %%zmm1, %%zmm17, %%zmm17\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm2\n\t"
        "vpmaxsd %%zmm2, %%zmm10, %%zmm10\n\t"
        "vpminsd %%zmm2, %%zmm18, %%zmm18\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm3\n\t"
        "vpmaxsd %%zmm3, %%zmm11, %%zmm11\n\t"
        "vpminsd %%zmm3, %%zmm19, %%zmm19\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm4\n\t"
        "vpmaxsd %%zmm4, %%zmm12, %%zmm12\n\t"
        "vpminsd %%zmm4, %%zmm20, %%zmm20\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm5\n\t"
        "vpmaxsd %%zmm5, %%zmm13, %%zmm13\n\t"
        "vpminsd %%zmm5, %%zmm21, %%zmm21\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm6\n\t"
        "vpmaxsd %%zmm6, %%zmm14, %%zmm14\n\t"
        "vpminsd %%zmm6, %%zmm22, %%zmm22\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm7\n\t"
        "vpmaxsd %%zmm7, %%zmm15, %%zmm15\n\t"
        "vpminsd %%zmm7, %%zmm23, %%zmm23\n\t"
        "dec %[n]\n\t"
        "jnz 1b\n\t"
        "vpaddd %%zmm8, %%zmm0, %%zmm0\n\t"
        "vpaddd %%zmm16, %%zmm0, %%zmm0\n\t"
        "vmovdqu32 %%zmm0, (%[sink])\n\t"
        "vzeroupper\n\t"
        : [n] "+r"(n)
        : [one] "r"(0x01010101), [bb] "r"(0x01fe02fd), [cc] "r"(-3), [sink] "r"(sink)
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "memory", "cc");
}

/* four vpdpbusd, max, min */
__attribute__((noinline, target("avx512f,avx512bw,avx512vnni"))) static void dp4_mm_(int64_t n, int32_t *sink)
{
    __asm__ volatile(
        "vpbroadcastd %[one], %%zmm29\n\t"
        "vpbroadcastd %[bb], %%zmm30\n\t"
        "vpbroadcastd %[cc], %%zmm31\n\t"
        "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
        "vpxord %%zmm1, %%zmm1, %%zmm1\n\t"
        "vpxord %%zmm2, %%zmm2, %%zmm2\n\t"
        "vpxord %%zmm3, %%zmm3, %%zmm3\n\t"
        "vpxord %%zmm4, %%zmm4, %%zmm4\n\t"
        "vpxord %%zmm5, %%zmm5, %%zmm5\n\t"
        "vpxord %%zmm6, %%zmm6, %%zmm6\n\t"
        "vpxord %%zmm7, %%zmm7, %%zmm7\n\t"
        "vpxord %%zmm8, %%zmm8, %%zmm8\n\t"
        "vpxord %%zmm9, %%zmm9, %%zmm9\n\t"
        "vpxord %%zmm10, %%zmm10, %%zmm10\n\t"
        "vpxord %%zmm11, %%zmm11, %%zmm11\n\t"
        "vpxord %%zmm12, %%zmm12, %%zmm12\n\t"
        "vpxord %%zmm13, %%zmm13, %%zmm13\n\t"
        "vpxord %%zmm14, %%zmm14, %%zmm14\n\t"
        "vpxord %%zmm15, %%zmm15, %%zmm15\n\t"
        "vpxord %%zmm16, %%zmm16, %%zmm16\n\t"
        "vpxord %%zmm17, %%zmm17, %%zmm17\n\t"
        "vpxord %%zmm18, %%zmm18, %%zmm18\n\t"
        "vpxord %%zmm19, %%zmm19, %%zmm19\n\t"
        "vpxord %%zmm20, %%zmm20, %%zmm20\n\t"
        "vpxord %%zmm21, %%zmm21, %%zmm21\n\t"
        "vpxord %%zmm22, %%zmm22, %%zmm22\n\t"
        "vpxord %%zmm23, %%zmm23, %%zmm23\n\t"
        "1:\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm0\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm1\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm2\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm3\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm4\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm5\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm6\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm7\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm0\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm1\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm2\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm3\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm4\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm5\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm6\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm7\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm0\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm1\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm2\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm3\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm4\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm5\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm6\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm7\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm0\n\t"
        "vpmaxsd %%zmm0, %%zmm8, %%zmm8\n\t"
        "vpminsd %%zmm0, %%zmm16, %%zmm16\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm1\n\t"
        "vpmaxsd %%zmm1, %%zmm9, %%zmm9\n\t"
        "vpminsd %%zmm1, %%zmm17, %%zmm17\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm2\n\t"
        "vpmaxsd %%zmm2, %%zmm10, %%zmm10\n\t"
        "vpminsd %%zmm2, %%zmm18, %%zmm18\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm3\n\t"
        "vpmaxsd %%zmm3, %%zmm11, %%zmm11\n\t"
        "vpminsd %%zmm3, %%zmm19, %%zmm19\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm4\n\t"
        "vpmaxsd %%zmm4, %%zmm12, %%zmm12\n\t"
        "vpminsd %%zmm4, %%zmm20, %%zmm20\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm5\n\t"
        "vpmaxsd %%zmm5, %%zmm13, %%zmm13\n\t"
        "vpminsd %%zmm5, %%zmm21, %%zmm21\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm6\n\t"
        "vpmaxsd %%zmm6, %%zmm14, %%zmm14\n\t"
        "vpminsd %%zmm6, %%zmm22, %%zmm22\n\t"
        "vpdpbusd %%zmm30, %%zmm29, %%zmm7\n\t"
        "vpmaxsd %%zmm7, %%zmm15, %%zmm15\n\t"
        "vpminsd %%zmm7, %%zmm23, %%zmm23\n\t"
        "dec %[n]\n\t"
        "jnz 1b\n\t"
        "vpaddd %%zmm8, %%zmm0, %%zmm0\n\t"
        "vpaddd %%zmm16, %%zmm0, %%zmm0\n\t"
        "vmovdqu32 %%zmm0, (%[sink])\n\t"
        "vzeroupper\n\t"
        : [n] "+r"(n)
        : [one] "r"(0x01010101), [bb] "r"(0x01fe02fd), [cc] "r"(-3), [sink] "r"(sink)
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "memory", "cc");
}
/* max, min only */
__attribute__((noinline, target("avx512f,avx512bw,avx512vnni"))) static void mm_(int64_t n, int32_t *sink)
{
    __asm__ volatile(
        "vpbroadcastd %[one], %%zmm29\n\t"
        "vpbroadcastd %[bb], %%zmm30\n\t"
        "vpbroadcastd %[cc], %%zmm31\n\t"
        "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
        "vpxord %%zmm1, %%zmm1, %%zmm1\n\t"
        "vpxord %%zmm2, %%zmm2, %%zmm2\n\t"
        "vpxord %%zmm3, %%zmm3, %%zmm3\n\t"
        "vpxord %%zmm4, %%zmm4, %%zmm4\n\t"
        "vpxord %%zmm5, %%zmm5, %%zmm5\n\t"
        "vpxord %%zmm6, %%zmm6, %%zmm6\n\t"
        "vpxord %%zmm7, %%zmm7, %%zmm7\n\t"
        "vpxord %%zmm8, %%zmm8, %%zmm8\n\t"
        "vpxord %%zmm9, %%zmm9, %%zmm9\n\t"
        "vpxord %%zmm10, %%zmm10, %%zmm10\n\t"
        "vpxord %%zmm11, %%zmm11, %%zmm11\n\t"
        "vpxord %%zmm12, %%zmm12, %%zmm12\n\t"
        "vpxord %%zmm13, %%zmm13, %%zmm13\n\t"
        "vpxord %%zmm14, %%zmm14, %%zmm14\n\t"
        "vpxord %%zmm15, %%zmm15, %%zmm15\n\t"
        "vpxord %%zmm16, %%zmm16, %%zmm16\n\t"
        "vpxord %%zmm17, %%zmm17, %%zmm17\n\t"
        "vpxord %%zmm18, %%zmm18, %%zmm18\n\t"
        "vpxord %%zmm19, %%zmm19, %%zmm19\n\t"
        "vpxord %%zmm20, %%zmm20, %%zmm20\n\t"
        "vpxord %%zmm21, %%zmm21, %%zmm21\n\t"
        "vpxord %%zmm22, %%zmm22, %%zmm22\n\t"
        "vpxord %%zmm23, %%zmm23, %%zmm23\n\t"
        "1:\n\t"
        "vpmaxsd %%zmm0, %%zmm8, %%zmm8\n\t"
        "vpminsd %%zmm0, %%zmm16, %%zmm16\n\t"
        "vpmaxsd %%zmm1, %%zmm9, %%zmm9\n\t"
        "vpminsd %%zmm1, %%zmm17, %%zmm17\n\t"
        "vpmaxsd %%zmm2, %%zmm10, %%zmm10\n\t"
        "vpminsd %%zmm2, %%zmm18, %%zmm18\n\t"
        "vpmaxsd %%zmm3, %%zmm11, %%zmm11\n\t"
        "vpminsd %%zmm3, %%zmm19, %%zmm19\n\t"
        "vpmaxsd %%zmm4, %%zmm12, %%zmm12\n\t"
        "vpminsd %%zmm4, %%zmm20, %%zmm20\n\t"
        "vpmaxsd %%zmm5, %%zmm13, %%zmm13\n\t"
        "vpminsd %%zmm5, %%zmm21, %%zmm21\n\t"
        "vpmaxsd %%zmm6, %%zmm14, %%zmm14\n\t"
        "vpminsd %%zmm6, %%zmm22, %%zmm22\n\t"
        "vpmaxsd %%zmm7, %%zmm15, %%zmm15\n\t"
        "vpminsd %%zmm7, %%zmm23, %%zmm23\n\t"
        "dec %[n]\n\t"
        "jnz 1b\n\t"
        "vpaddd %%zmm8, %%zmm0, %%zmm0\n\t"
        "vpaddd %%zmm16, %%zmm0, %%zmm0\n\t"
        "vmovdqu32 %%zmm0, (%[sink])\n\t"
        "vzeroupper\n\t"
        : [n] "+r"(n)
        : [one] "r"(0x01010101), [bb] "r"(0x01fe02fd), [cc] "r"(-3), [sink] "r"(sink)
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "memory", "cc");
}

#endif

int floor_loop(int which, int64_t n, int32_t *sink)
{
#ifdef HAVE_X86
    if (!vnni() || n < 1) return -1;
    switch (which) {
    case 0: dp_(n, sink); return 0;
    case 1: dp_mm_(n, sink); return 0;
    case 2: dp_amm_(n, sink); return 0;
    case 3: dp2_mm_(n, sink); return 0;
    case 4: dp4_mm_(n, sink); return 0;
    case 5: mm_(n, sink); return 0;
    case 6: dp_mm_b(n, sink); return 0;
    default: return -1;
    }
#else
    (void)which; (void)n; (void)sink;
    return -1;
#endif
}
