/* hw_internal.h -- internal helpers of the hwsim kernel library (hwi_*).
 * Never exposed to cffi. */
#ifndef HW_INTERNAL_H
#define HW_INTERNAL_H

#include <stdint.h>
#include <string.h>
#include "include/hwsim.h"
#include "include/hwsim_test.h" /* the hw_*_general / hw_*_fast paths */

/* x86 SIMD kernels (AVX2 / FMA / F16C, chosen at run time when the CPU has
 * them).  Building with -DHWSIM_PORTABLE leaves only the portable C loops,
 * so that they are tested on x86 too (make test-portable). */
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__)) && !defined(HWSIM_PORTABLE)
#define HWI_SIMD 1
#endif

/* The running max / min of the partial sums of one row's two 16-column panels (the
 * speculative stepped kernels, hw_mac_dot.c and hw_mac_vnni.c; AVX-512 bodies only). */
#define HWI_MAXMIN2(h0, h1, l0, l1, s0, s1)                                                  \
    do {                                                                                     \
        h0 = _mm512_max_epi32(h0, s0);                                                       \
        h1 = _mm512_max_epi32(h1, s1);                                                       \
        l0 = _mm512_min_epi32(l0, s0);                                                       \
        l1 = _mm512_min_epi32(l1, s1);                                                       \
    } while (0)

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
static inline float hwi_bits_f32(uint32_t u) { float d; memcpy(&d, &u, 4); return d; }

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

/* Input element i as float64: float32 widened exactly; with daz, float32
 * subnormals are read as signed zero (float64 ones are handled by the caller). */
static inline double hwi_load_input(const void *in, int in_kind, size_t i, int daz)
{
    if (in_kind == HW_IN_F64) return ((const double *)in)[i];
    if (daz) {
        uint32_t b = hwi_f32_bits(((const float *)in)[i]);
        if ((b & 0x7F800000u) == 0) return (b >> 31) ? -0.0 : 0.0;
    }
    return (double)((const float *)in)[i];
}

/* Mask of the r random bits used by stochastic rounding. */
static inline uint32_t hwi_sr_mask(const hw_opts *o)
{
    return o->sr_bits >= 32 ? 0xFFFFFFFFu : ((1u << (o->sr_bits > 0 ? o->sr_bits : 1)) - 1);
}

/* The random integer of element i: the caller's word or the counter generator's. */
static inline uint32_t hwi_sr_word(const hw_opts *o, const uint32_t *rand, size_t i,
                                   uint32_t mask)
{
    if (o->rounding != HW_ROUND_SR) return 0;
    return (o->sr_external ? rand[i] : hwi_random32(o->seed, o->index0 + i)) & mask;
}

/* Store element i's code and flags; on an error flag record it and return the
 * status (HW_OK otherwise). */
static inline int hwi_put_elem(void *out, int code_size, size_t i, uint64_t code, uint32_t fl,
                               uint8_t *elem_flags, uint32_t *all, hw_result *res)
{
    if (fl & HWI_ERR_MASK) {
        res->flags = *all;
        res->err_index = (int64_t)i;
        return (fl & HWI_ERR_NAN) ? HW_E_NAN : HW_E_OVERFLOW;
    }
    hwi_store_code(out, code_size, i, code);
    if (elem_flags) elem_flags[i] = (uint8_t)fl;
    *all |= fl;
    return HW_OK;
}

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

/* The general element loops without argument checks (hw_encode.c,
 * hw_decode.c): hw_*_general checks, then runs them; the fast kernels redo
 * the elements they mark with them. */
int hwi_encode_elems(void *out, int code_size, const void *in, int in_kind, size_t n,
                     const hw_format *f, const hw_opts *o, const uint32_t *rand,
                     uint8_t *elem_flags, hw_result *res);
int hwi_decode_elems(double *out, const void *in, int code_size, size_t n, const hw_format *f,
                     int daz, hw_result *res);

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


/* ---- MAC units (hw_mac_*.c, hw_acc_*.c) ------------------------------------
 * hwi_lut_row_f32 (hw_mac_pack.c): one row of cols codes -> lut values at
 * out[(c / 16) * ps + c % 16]; -1 on a code >= lut_n, 1 on a non-finite value. */
int hwi_lut_row_f32(const void *codes, int code_size, int64_t cols, const float *lut,
                    int64_t lut_n, float *out, int64_t ps);
/* hwi_dec_row_f32: the same by arithmetic (dec: see hw_mac_pack.c); valid
 * dec for this code size: hwi_dec_valid */
int hwi_dec_row_f32(const void *codes, int code_size, int64_t cols, const int32_t *dec,
                    float *out, int64_t ps);
int hwi_dec_valid(const int32_t *dec, int code_size);
/*
 * 128-bit integers are a GCC/Clang extension; the MAC kernels use them for
 * exact two-term sums and products-on-a-grid. */
__extension__ typedef unsigned __int128 hwi_u128;
__extension__ typedef __int128 hwi_i128;

#define HWI_FX_LIMBS 66   /* wide fixed registers: up to 64*66 - 2 = 4222 bits */
#define HWI_TREE_LEVELS 64
#define HWI_BELOW_FLOOR 7 /* fixed "truncate": drop two's-complement bits (floor) */

static inline int hwi_msb128(hwi_u128 x) /* x != 0 */
{
    uint64_t hi = (uint64_t)(x >> 64);
    return hi ? 64 + hwi_msb64(hi) : hwi_msb64((uint64_t)x);
}

/* x >> s (s >= 0) with every shifted-out bit OR-ed into the LSB */
static inline hwi_u128 hwi_jam128(hwi_u128 x, int s)
{
    if (s <= 0) return x;
    if (s >= 128) return x != 0;
    return (x >> s) | (hwi_u128)((x & ((((hwi_u128)1) << s) - 1)) != 0);
}

/* Reduce a nonzero 128-bit magnitude to (sig64, e2) for hwi_round_pack: the
 * value sig * 2^e2 keeps 63 significant bits and jams the rest into the LSB,
 * which rounds correctly into any format of precision <= 61. */
static inline uint64_t hwi_narrow128(hwi_u128 m, int32_t *e2)
{
    int msb = hwi_msb128(m), s = msb - 62;
    if (s <= 0) return (uint64_t)m;
    *e2 += s;
    return (uint64_t)hwi_jam128(m, s);
}

/* A register of an accumulator (or of a psum / product value in transit).
 * Float registers hold the code of the accumulator format and its unpacked
 * value; fixed registers hold the two's-complement integer in LSB units
 * (narrow: v, width <= 64; wide: w[], nl limbs, little-endian). */
typedef struct hwi_reg {
    uint64_t code;
    hw_xval x;                  /* float: the value of `code` */
    int64_t v;                  /* fixed, width <= 64 */
    uint64_t w[HWI_FX_LIMBS];   /* fixed, width > 64 */
} hwi_reg;

/* Exact-sum scratch: a two's-complement integer of nl limbs times 2^lo. */
typedef struct hwi_xsum {
    int32_t lo, nl;
    int32_t nan, pinf, ninf;    /* specials seen */
    int32_t nz, zneg, zpos;     /* nonzero seen; all terms negative / positive */
    int32_t snan;               /* a signalling NaN seen */
    hw_xval nan1, snan1;        /* the first NaN and the first signalling NaN */
    uint64_t *w;
} hwi_xsum;

/* Step outcome, OR-ed per output: flags plus internal error bits */
#define HWI_EV_ACC_OVF 0x1000u   /* an accumulator overflow / saturation / wrap event */
#define HWI_EV_PSUM_OVF 0x2000u  /* a psum encode overflowed */

void hwi_xval_from_code(hw_xval *x, uint64_t c, const hw_format *f);
void hwi_xval_from_i64(hw_xval *x, int64_t v, int32_t frac_bits);
int hwi_scale_round(int sign, uint64_t sig, int32_t sh, int mode, hwi_u128 *mag);
uint64_t hwi_add_round(const hw_xval *x, const hw_xval *y, const hw_format *f,
                       const hw_opts *o, uint32_t *flags);
/* hw_mac_nan.c: NaN results under o->nan_rule (HW_NANR_*).  hwi_nan_pick:
 * the NaN that x op y gives (priority x, y; INVALID for a signalling one);
 * hwi_float_nan: its code in f (x NULL: the default NaN). */
int hwi_is_snan(const hw_xval *x);
void hwi_nan_default(hw_xval *x, int rule);
const hw_xval *hwi_nan_pick(const hw_xval *x, const hw_xval *y, int rule, uint32_t *flags);
uint64_t hwi_float_nan(const hw_xval *x, const hw_format *f, const hw_opts *o, uint32_t *flags);
/* hw_round.c: the code of a NaN / signed infinity by the overflow policy */
uint64_t hwi_float_special(int nan, int sign, const hw_format *f, const hw_opts *o,
                           uint32_t *flags);

void hwi_xsum_clear(hwi_xsum *s);
int hwi_xsum_add_xval(hwi_xsum *s, const hw_xval *x);
int hwi_xsum_add_limbs(hwi_xsum *s, const uint64_t *w, int nl, int32_t e);
int hwi_xsum_add_xsum(hwi_xsum *s, const hwi_xsum *t);
int hwi_xsum_sign(const hwi_xsum *s); /* -1, 0, 1 */
uint64_t hwi_xsum_round_float(const hwi_xsum *s, const hw_format *f, const hw_opts *o,
                              uint32_t *flags);
int hwi_xsum_to_grid(const hwi_xsum *s, int32_t lsb, int mode, uint64_t *out, int nl,
                     int *huge);
double hwi_xsum_to_double(const hwi_xsum *s);


struct hwi_acc_ops;

/* An accumulator in use by the MAC engine. */
typedef struct hwi_unit {
    const hw_acc_spec *a;
    const struct hwi_acc_ops *ops; /* the operations of a->kind (hwi_acc_ops_of) */
    hw_opts o;        /* rounding / overflow for float formats */
    int32_t nl;       /* fixed: limbs of a wide register (0: width <= 64) */
    int32_t idx;      /* 0 accumulator, 1 outer, 2 psum adder */
    uint64_t mask;    /* fixed narrow: 2^width - 1 */
} hwi_unit;

/* Statistics of one output. */
typedef struct hwi_stat {
    double max_abs;
    hwi_u128 umax[3];   /* fixed narrow units: max |pre-overflow value|, LSB units */
    int32_t wneed;
    int64_t acc_events, psum_events;
} hwi_stat;

/* The operations of one accumulator kind (HW_ACC_*), which the MAC engine
 * (hw_mac_engine.c, hw_mac_seq.c) calls instead of testing the kind.  One
 * constant per kind, defined in the kind's file (hw_acc_fixed.c,
 * hw_acc_float.c, hw_acc_multi.c); the table from kind to operations is
 * hw_acc_table.c.  NULL members: the kind has no such operation. */
typedef struct hwi_acc_ops {
    /* check the spec (HW_OK, HW_E_SIZE, HW_E_MODE) and derive u->nl / u->mask */
    int (*init)(hwi_unit *u);
    void (*zero)(const hwi_unit *u, hwi_reg *r);
    /* one MAC step r <- r (+) p (NULL: the kind adds in groups, below) */
    uint32_t (*mac)(const hwi_unit *u, hwi_reg *r, const hw_xval *p, hwi_stat *st);
    /* r <- x, a bias loaded into a zero register by the sequential order */
    uint32_t (*load)(const hwi_unit *u, hwi_reg *r, const hw_xval *x, hwi_stat *st);
    /* whether mac(r, x) is the exact sum r + x rounded once (a final bias) */
    int (*mac_exact)(const hw_acc_spec *a);
    /* a product entering an adder tree: add it (as the unit sees it) to s;
     * HW_E_SIZE when s is too small (NULL: the kind cannot be a tree) */
    int (*leaf)(const hwi_unit *u, const hw_xval *p, hwi_xsum *s, hwi_stat *st,
                uint32_t *flags);
    /* fan_in products at once (fused multi-term, fixed with fan_in > 1; NULL:
     * one at a time) */
    uint32_t (*group)(const hwi_unit *u, hwi_reg *r, const hw_xval *p, int n, hwi_xsum *scratch,
                      double *exact, hwi_stat *st);
    uint32_t (*from_xsum)(const hwi_unit *u, hwi_reg *r, const hwi_xsum *s, hwi_stat *st);
    int (*to_xsum)(const hwi_unit *u, const hwi_reg *r, hwi_xsum *s);
    double (*to_double)(const hwi_unit *u, const hwi_reg *r);
    /* the register as nlo output limbs */
    void (*store)(const hwi_unit *u, const hwi_reg *r, uint64_t *out, int32_t nlo);
} hwi_acc_ops;

/* hw_acc_table.c: the operations of an accumulator kind, NULL for an unknown one */
const hwi_acc_ops *hwi_acc_ops_of(int32_t kind);
/* the operations of a spec: its kind's, or for a fixed register with fan_in > 1
 * (a dot-product unit) the grouped ones; NULL when unknown / invalid */
const hwi_acc_ops *hwi_acc_ops_for(const hw_acc_spec *a);

/* float registers, shared by the float and fused multi-term kinds (hw_acc_float.c) */
int hwi_float_check(hwi_unit *u);
void hwi_float_zero(const hwi_unit *u, hwi_reg *r);
uint32_t hwi_float_load(const hwi_unit *u, hwi_reg *r, const hw_xval *x, hwi_stat *st);
int hwi_float_to_xsum(const hwi_unit *u, const hwi_reg *r, hwi_xsum *s);
double hwi_float_double(const hwi_unit *u, const hwi_reg *r);
void hwi_float_store(const hwi_unit *u, const hwi_reg *r, uint64_t *out, int32_t nlo);

void hwi_limbs_add(uint64_t *w, int nl, int sign, uint64_t sig, int64_t pos);
double hwi_xval_double(const hw_xval *x);
uint32_t hwi_float_mac(const hwi_unit *u, hwi_reg *r, const hw_xval *p, hwi_stat *st);
uint32_t hwi_float_from_xsum(const hwi_unit *u, hwi_reg *r, const hwi_xsum *s, hwi_stat *st);
void hwi_fixed_zero(const hwi_unit *u, hwi_reg *r);
uint32_t hwi_fixed_leaf(const hwi_unit *u, const hw_xval *p, hwi_xsum *s);
uint32_t hwi_fixed_mac(const hwi_unit *u, hwi_reg *r, const hw_xval *p, hwi_stat *st);
uint32_t hwi_fixed_from_xsum(const hwi_unit *u, hwi_reg *r, const hwi_xsum *s, hwi_stat *st);
int hwi_fixed_to_xsum(const hwi_unit *u, const hwi_reg *r, hwi_xsum *s);
double hwi_fixed_double(const hwi_unit *u, const hwi_reg *r);
uint32_t hwi_multi_group(const hwi_unit *u, hwi_reg *r, const hw_xval *p, int n,
                         hwi_xsum *scratch, double *exact, hwi_stat *st);

int hwi_mac_product(const hw_xval *a, const hw_xval *b, hw_xval *p, int nan_rule, uint32_t *fl);
uint32_t hwi_num_from_xval(const hw_num_spec *ns, const hw_opts *o, const hw_xval *x,
                           uint64_t *code, hw_xval *dec);
uint32_t hwi_num_from_xsum(const hw_num_spec *ns, const hw_opts *o, const hwi_xsum *s,
                           uint64_t *code, hw_xval *dec);

/* The sequential order for cnt (<= 4) outputs of one row, interleaved; no
 * trace, no tiles.  bias[c]: the outputs' bias or NULL.  Float units with a
 * final bias must be fused (the bias add is exact).  Returns nonzero when an
 * output met an error: the caller then recomputes them one at a time. */
int hwi_seq_group(const hwi_unit *u, const hw_num_spec *prod, const hw_opts *prod_o,
                  const hw_xval *ar, int64_t a_ks, const hw_xval *const *bc, int64_t b_ks,
                  int64_t kk, const hw_xval *const *bias, int bias_mode, int cnt,
                  hwi_reg *regs, hwi_stat *st, uint32_t *flags);
/* (flags: cnt entries, each output's HW_FLAG_* OR-ed in) */

/* hw_mac_vnni.c: hw_mac_i32_steps on AVX-512 VNNI by speculation; returns 1
 * when it ran (bad[i * ceil(n / 32) + j / 32] = 1: row i, columns j .. j + 31
 * must be stepped again exactly), 0 when it does not apply (no VNNI, operands
 * beyond int16, partial sums beyond int32) */
int hwi_i32_steps_vnni(const int32_t *a, const int32_t *bp, const int32_t *init,
                       const int32_t *fin, int32_t *out, int32_t *events, int64_t *max_abs,
                       int32_t *width, int64_t m, int64_t n, int64_t k, int32_t bits,
                       uint8_t *bad);


/* ---- a stepped integer register with statistics ----------------------------
 * One add of the exact value x into a register of `bits` bits (2..32) that wraps
 * or saturates, with the statistics of docs/semantics.md "MAC statistics": the
 * adds that overflowed, max |exact sum before the overflow policy|, and the
 * prefix sums of the widened run (every value the register would hold were it
 * wide enough) for bits needed.  Shared by the portable loops of the int_steps
 * (hw_mac_fast_int.c) and int_dot (hw_mac_dot.c) kernels. */
typedef struct {
    int64_t acc, pre, pmax, pmin, mx;
    int32_t ev;
} hwi_istep;

static inline void hwi_istep_init(hwi_istep *s, int64_t v)
{
    s->acc = s->pre = s->pmax = s->pmin = v;
    s->mx = v < 0 ? -v : v;
    s->ev = 0;
}

static inline void hwi_istep_add(hwi_istep *s, int64_t x, int32_t bits, int sat)
{
    const int64_t hi = ((int64_t)1 << (bits - 1)) - 1, lo = -hi - 1;
    const int64_t e = s->acc + x;
    int64_t v;
    if (sat) v = e < lo ? lo : (e > hi ? hi : e);
    else {
        uint64_t u = (uint64_t)e & (((uint64_t)1 << bits) - 1);
        v = (u >> (bits - 1)) ? (int64_t)(u | ~((((uint64_t)1) << bits) - 1)) : (int64_t)u;
    }
    s->ev += v != e;
    if ((e < 0 ? -e : e) > s->mx) s->mx = e < 0 ? -e : e;
    s->pre += x;
    if (s->pre > s->pmax) s->pmax = s->pre;
    if (s->pre < s->pmin) s->pmin = s->pre;
    s->acc = v;
}

/* the signed width of the widened run's largest and smallest prefix sums */
static inline int32_t hwi_istep_width(const hwi_istep *s)
{
    int64_t t1 = s->pmax < 0 ? ~s->pmax : s->pmax, t2 = s->pmin < 0 ? ~s->pmin : s->pmin;
    int64_t t = t1 > t2 ? t1 : t2;
    return t ? 65 - __builtin_clzll((uint64_t)t) : 1;
}

#endif
