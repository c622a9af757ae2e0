/* hw_random.c -- the counter-based generator for stochastic rounding. */
#include "hw_internal.h"

int hw_random_bits(uint32_t *out, size_t n, uint64_t seed, uint64_t index0)
{
    size_t i;
    if (!out && n) return HW_E_SIZE;
    for (i = 0; i < n; i++) out[i] = hwi_random32(seed, index0 + i);
    return HW_OK;
}
