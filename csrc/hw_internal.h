/* hw_internal.h -- internal helpers of the hwsim kernel library (hwi_*).
 * Never exposed to cffi. */
#ifndef HW_INTERNAL_H
#define HW_INTERNAL_H

#include <stdint.h>
#include <string.h>
#include "include/hwsim.h"

/* internal flag bits above the public HW_FLAG_* ones */
#define HWI_ERR_OVERFLOW 0x100u
#define HWI_ERR_NAN 0x200u
#define HWI_ERR_MASK (HWI_ERR_OVERFLOW | HWI_ERR_NAN)

#define HWI_GOLDEN 0x9E3779B97F4A7C15ull

static inline int hwi_clz64(uint64_t x) { return x ? __builtin_clzll(x) : 64; }
static inline int hwi_msb64(uint64_t x) { return 63 - __builtin_clzll(x); } /* x != 0 */

/* shift right by s >= 0, OR-ing every shifted-out bit into the result's LSB */
static inline uint64_t hwi_shift_right_jam64(uint64_t x, int s)
{
    if (s <= 0) return x;
    if (s >= 64) return x != 0;
    return (x >> s) | ((x & ((1ull << s) - 1)) != 0);
}

static inline uint64_t hwi_f64_bits(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static inline double hwi_bits_f64(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }
static inline uint32_t hwi_f32_bits(float d) { uint32_t u; memcpy(&u, &d, 4); return u; }

static inline uint64_t hwi_splitmix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* the counter-based generator of hw_random_bits, one element */
static inline uint32_t hwi_random32(uint64_t seed, uint64_t index)
{
    return (uint32_t)(hwi_splitmix64(seed + (index + 1) * HWI_GOLDEN) >> 32);
}

/* store / load a code of 1, 2, 4 or 8 bytes */
static inline void hwi_store_code(void *out, int size, size_t i, uint64_t c)
{
    switch (size) {
    case 1: ((uint8_t *)out)[i] = (uint8_t)c; break;
    case 2: ((uint16_t *)out)[i] = (uint16_t)c; break;
    case 4: ((uint32_t *)out)[i] = (uint32_t)c; break;
    default: ((uint64_t *)out)[i] = c; break;
    }
}

static inline uint64_t hwi_load_code(const void *in, int size, size_t i)
{
    switch (size) {
    case 1: return ((const uint8_t *)in)[i];
    case 2: return ((const uint16_t *)in)[i];
    case 4: return ((const uint32_t *)in)[i];
    default: return ((const uint64_t *)in)[i];
    }
}

static inline int hwi_valid_code_size(int s) { return s == 1 || s == 2 || s == 4 || s == 8; }

/* Rounding increment decision: the G/T/B table (same order as
 * hwsim/reference.py's _round_increment).  lsb: LSB of the truncated
 * magnitude, g: guard bit, t: sticky (any bit below g), sign: 1 if negative.
 * For RTO the caller ORs (g|t) into the LSB instead; SR is handled apart. */
static inline int hwi_round_increment(int mode, int sign, int lsb, int g, int t)
{
    switch (mode) {
    case HW_ROUND_RNE: return g & (t | lsb);
    case HW_ROUND_RNA: return g;
    case HW_ROUND_RUP: return (!sign) & (g | t);
    case HW_ROUND_RDN: return sign & (g | t);
    default: return 0; /* RTZ, RTO */
    }
}

/* Round the exact value (-1)^sign * (sig + frac) * 2^e2, where 0 <= frac < 1
 * and sticky_in says whether frac != 0, into format f.  rnd: the r-bit random
 * integer for HW_ROUND_SR.  Returns the code; ORs HW_FLAG_* and HWI_ERR_*
 * into *flags.  sig may be 0 only with sticky_in == 0 (an exact zero). */
uint64_t hwi_round_pack(int sign, uint64_t sig, int32_t e2, int sticky_in,
                        const hw_format *f, const hw_opts *o, uint32_t rnd,
                        uint32_t *flags);

/* Code for an overflowed result of the given sign (policy + mode aware). */
uint64_t hwi_overflow_code(int sign, const hw_format *f, const hw_opts *o,
                           uint32_t *flags);

/* Code for a signed zero (+0 where the format has no -0). */
static inline uint64_t hwi_zero_code(int sign, const hw_format *f)
{
    return (sign && f->has_negzero) ? f->sign_bit : 0;
}

/* Code for NaN input, or an error flag when the format has none. */
static inline uint64_t hwi_nan_code(const hw_format *f, const hw_opts *o, uint32_t *flags)
{
    if (f->has_nan) return f->nan_code;
    if (o->nan_policy == HW_NAN_CODE) return o->nan_code;
    *flags |= HWI_ERR_NAN;
    return 0;
}

#endif
