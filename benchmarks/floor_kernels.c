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

/* Registers: S_i = zmm i (i = 0..7), its max zmm 8+i, its min zmm 16+i; a = zmm29 (bytes 1),
 * b = zmm30 (bytes -3, 2, -2, 1: each vpdpbusd adds -2 per lane), c = zmm31 (-3). */
#define Z(i) "%%zmm" #i
#define DP(i) "vpdpbusd " Z(30) ", " Z(29) ", " Z(i) "\n\t"
#define AD(i) "vpaddd " Z(31) ", " Z(i) ", " Z(i) "\n\t"
#define MX(i, h) "vpmaxsd " Z(i) ", " Z(h) ", " Z(h) "\n\t"
#define MN(i, l) "vpminsd " Z(i) ", " Z(l) ", " Z(l) "\n\t"
#define MM(i, h, l) MX(i, h) MN(i, l)
#define ZERO(i) "vpxord " Z(i) ", " Z(i) ", " Z(i) "\n\t"
#define ALL_DP DP(0) DP(1) DP(2) DP(3) DP(4) DP(5) DP(6) DP(7)
#define ALL_AD AD(0) AD(1) AD(2) AD(3) AD(4) AD(5) AD(6) AD(7)
#define ALL_MM MM(0, 8, 16) MM(1, 9, 17) MM(2, 10, 18) MM(3, 11, 19) \
               MM(4, 12, 20) MM(5, 13, 21) MM(6, 14, 22) MM(7, 15, 23)
#define STEP_MM(i, h, l) DP(i) MM(i, h, l)
#define INTERLEAVED STEP_MM(0, 8, 16) STEP_MM(1, 9, 17) STEP_MM(2, 10, 18) STEP_MM(3, 11, 19) \
                    STEP_MM(4, 12, 20) STEP_MM(5, 13, 21) STEP_MM(6, 14, 22) STEP_MM(7, 15, 23)
#define STEP_AMM(i, h, l) DP(i) AD(i) MM(i, h, l)
#define INTERLEAVED_A STEP_AMM(0, 8, 16) STEP_AMM(1, 9, 17) STEP_AMM(2, 10, 18)             \
                      STEP_AMM(3, 11, 19) STEP_AMM(4, 12, 20) STEP_AMM(5, 13, 21)           \
                      STEP_AMM(6, 14, 22) STEP_AMM(7, 15, 23)

/* one loop: n rounds of BODY, then lane 0.. of S_0 + max_0 + min_0 to sink */
#define LOOP(name, BODY)                                                                    \
    __attribute__((noinline, target("avx512f,avx512bw,avx512vnni")))                         \
    static void name(int64_t n, int32_t *sink)                                               \
    {                                                                                        \
        __asm__ volatile(                                                                    \
            "vpbroadcastd %[one], " Z(29) "\n\t"                                             \
            "vpbroadcastd %[bb], " Z(30) "\n\t"                                              \
            "vpbroadcastd %[cc], " Z(31) "\n\t"                                              \
            ZERO(0) ZERO(1) ZERO(2) ZERO(3) ZERO(4) ZERO(5) ZERO(6) ZERO(7)                  \
            ZERO(8) ZERO(9) ZERO(10) ZERO(11) ZERO(12) ZERO(13) ZERO(14) ZERO(15)            \
            ZERO(16) ZERO(17) ZERO(18) ZERO(19) ZERO(20) ZERO(21) ZERO(22) ZERO(23)          \
            "1:\n\t" BODY "dec %[n]\n\t"                                                     \
            "jnz 1b\n\t"                                                                      \
            "vpaddd " Z(8) ", " Z(0) ", " Z(0) "\n\t"                                           \
            "vpaddd " Z(16) ", " Z(0) ", " Z(0) "\n\t"                                          \
            "vmovdqu32 " Z(0) ", (%[sink])\n\t"                                                \
            "vzeroupper\n\t"                                                                  \
            : [n] "+r"(n)                                                                    \
            : [one] "r"(0x01010101), [bb] "r"(0x01fe02fd), [cc] "r"(-3), [sink] "r"(sink)    \
            : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",         \
              "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "xmm16",          \
              "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24",         \
              "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "memory", "cc"); \
    }

LOOP(dp_, ALL_DP)
LOOP(dp_mm_, INTERLEAVED)
LOOP(dp_mm_b, ALL_DP ALL_MM)
LOOP(dp_amm_, INTERLEAVED_A)
LOOP(dp2_mm_, ALL_DP INTERLEAVED)
LOOP(dp4_mm_, ALL_DP ALL_DP ALL_DP INTERLEAVED)
LOOP(mm_, ALL_MM)
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
