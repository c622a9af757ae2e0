/*============================================================================
 * hwsim.h -- public C API of the hwsim kernel library.
 *
 * C99, no global state, no Python.  Everything a kernel needs (format,
 * rounding mode, policies, random seed) travels in its arguments; status
 * flags come back through an hw_result.  Codes are raw bit patterns held in
 * unsigned integers of 1, 2, 4 or 8 bytes ("code size").
 *
 * The block between HW_CDEF_BEGIN and HW_CDEF_END is fed verbatim to
 * cffi's ffi.cdef(), so it contains only declarations cffi understands.
 *==========================================================================*/
#ifndef HWSIM_H
#define HWSIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* HW_CDEF_BEGIN */

/* Status codes returned by every hw_* function. */
enum {
    HW_OK = 0,
    HW_E_FORMAT = -1,    /* invalid hw_format parameters                   */
    HW_E_MODE = -2,      /* unsupported rounding / policy combination      */
    HW_E_SIZE = -3,      /* bad element size, length or shape              */
    HW_E_OVERFLOW = -4,  /* overflow under HW_OVF_ERROR (see err_index)    */
    HW_E_NAN = -5,       /* NaN into a format without NaN, HW_NAN_ERROR    */
    HW_E_CODE = -6,      /* code out of range for the format (err_index)   */
    HW_E_NOMEM = -7      /* allocation failed                              */
};

/* Rounding modes (values equal hwsim.modes.RoundingMode). */
enum {
    HW_ROUND_RNE = 0, HW_ROUND_RNA = 1, HW_ROUND_RTZ = 2, HW_ROUND_RUP = 3,
    HW_ROUND_RDN = 4, HW_ROUND_RTO = 5, HW_ROUND_SR = 6
};

/* Overflow policies (values equal hwsim.modes.Overflow). */
enum {
    HW_OVF_SATURATE = 0, HW_OVF_SATURATE_KEEP_INF = 1, HW_OVF_SPECIAL = 2,
    HW_OVF_ERROR = 3, HW_OVF_WRAP = 4
};

/* b_code_size of the float MAC kernels: b already decoded into panels. */
enum { HW_MAC_PACKED = -1 };

/* Tininess detection (values equal hwsim.modes.Tininess). */
enum { HW_TININESS_AFTER = 0, HW_TININESS_BEFORE = 1 };

/* NaN policy for formats that have no NaN code. */
enum { HW_NAN_ERROR = 0, HW_NAN_CODE = 1 };

/* Status flag bits (SoftFloat meanings; values equal hwsim.modes.Flags). */
enum {
    HW_FLAG_INEXACT = 1, HW_FLAG_UNDERFLOW = 2, HW_FLAG_OVERFLOW = 4,
    HW_FLAG_INFINITE = 8, HW_FLAG_INVALID = 16
};

/* Which codes are special (values equal hwsim.formats.SPECIALS_CODE). */
enum {
    HW_SPECIALS_IEEE = 0,         /* exp all ones: Inf (man 0) / NaN          */
    HW_SPECIALS_FN = 1,           /* no Inf; NaN = exp and man all ones       */
    HW_SPECIALS_FNUZ = 2,         /* no Inf; NaN = sign-set zero; no -0       */
    HW_SPECIALS_FINITE = 3,       /* every code finite                        */
    HW_SPECIALS_P3109 = 4,        /* NaN 0x80.., +-Inf 0x7F../0xFF.., no -0   */
    HW_SPECIALS_P3109_FINITE = 5, /* NaN 0x80.., no Inf, no -0               */
    HW_SPECIALS_E8M0 = 6          /* unsigned, no zero, exp all ones = NaN   */
};

/* Input element kinds for encoders. */
enum { HW_IN_F64 = 0, HW_IN_F32 = 1 };

/* A floating-point format.  The caller fills the primary fields and calls
 * hw_format_init(), which validates them and fills the derived ones. */
typedef struct hw_format {
    int32_t exp_bits;     /* exponent field width, 1..11                    */
    int32_t man_bits;     /* trailing significand width, 0..52              */
    int32_t bias;         /* exponent bias                                  */
    int32_t specials;     /* HW_SPECIALS_*                                  */
    int32_t subnormals;   /* 1: exp field 0 encodes subnormals              */
    int32_t is_signed;    /* 1: sign bit present                            */
    /* derived by hw_format_init */
    int32_t bits;         /* total width                                    */
    int32_t emin;         /* unbiased exponent of the smallest normal       */
    int32_t emax;         /* unbiased exponent of the largest finite        */
    int32_t has_inf, has_nan, has_negzero, has_zero;
    uint64_t sign_bit;    /* 0 for unsigned formats                         */
    uint64_t mag_mask;    /* all bits except the sign                       */
    uint64_t max_code;    /* largest positive finite code                   */
    uint64_t nan_code;    /* canonical NaN code (if has_nan)                */
    uint64_t inf_code;    /* +Inf code (if has_inf)                         */
} hw_format;

/* Options of an encode (conversion into a format). */
typedef struct hw_opts {
    int32_t rounding;     /* HW_ROUND_*                                     */
    int32_t overflow;     /* HW_OVF_*                                       */
    int32_t tininess;     /* HW_TININESS_*                                  */
    int32_t ftz;          /* 1: tiny results flush to signed zero           */
    int32_t daz;          /* 1: subnormal inputs are read as zero           */
    int32_t nan_policy;   /* HW_NAN_* (formats without NaN)                 */
    uint64_t nan_code;    /* code written for NaN under HW_NAN_CODE         */
    int32_t sr_bits;      /* stochastic rounding: random bits r, 1..32      */
    int32_t sr_external;  /* 1: random integers from the caller's array     */
    uint64_t seed;        /* counter-based generator key                    */
    uint64_t index0;      /* global index of element 0 (slices match whole) */
    int32_t nan_rule;     /* HW_NANR_* bits: NaN results of the MAC units   */
} hw_opts;

/* NaN rule of a MAC unit (hw_opts.nan_rule, hw_mac_spec.nan_rule); 0 is the
 * canonical rule: every NaN result is the format's canonical NaN code.
 * HW_NANR_PROPAGATE: a NaN operand's sign and payload (trailing significand,
 * left-aligned) carry into the result, quieted; priority register, a, b (a
 * MAC step is register + a*b).  HW_NANR_PREFER_SNAN: a signalling NaN wins
 * over an earlier quiet one.  HW_NANR_NEGATIVE: the default NaN (Inf * 0,
 * Inf - Inf, the canonical rule) has its sign bit set.  hwsim.mac.nan and
 * docs/semantics.md ("NaN policies") state the presets. */
enum { HW_NANR_PROPAGATE = 1, HW_NANR_PREFER_SNAN = 2, HW_NANR_NEGATIVE = 4 };

/* What a call reports besides its status. */
typedef struct hw_result {
    uint32_t flags;       /* OR of HW_FLAG_* over all elements              */
    int64_t err_index;    /* first offending element on error, else -1     */
} hw_result;

/*----------------------------------------------------------------------------
 * hw_format_init: validate f's primary fields and compute the derived ones.
 * Returns HW_OK or HW_E_FORMAT (nothing derived is written then).
 *--------------------------------------------------------------------------*/
int hw_format_init(hw_format *f);

/*----------------------------------------------------------------------------
 * hw_encode: convert n float64 (in_kind HW_IN_F64) or float32 (HW_IN_F32)
 * values to codes of format f, written as code_size-byte unsigned integers.
 * The conversion is exact-then-round-once in mode o->rounding; overflow,
 * NaN, tininess, FTZ/DAZ follow o.  rand: n uint32 random integers when
 * o->sr_external (else NULL).  elem_flags: optional per-element HW_FLAG_*.
 * Returns HW_OK, HW_E_SIZE, HW_E_MODE, HW_E_OVERFLOW or HW_E_NAN (with
 * res->err_index set; elements before it are written).
 *--------------------------------------------------------------------------*/
int hw_encode(void *out, int code_size, const void *in, int in_kind, size_t n,
              const hw_format *f, const hw_opts *o, const uint32_t *rand,
              uint8_t *elem_flags, hw_result *res);

/*----------------------------------------------------------------------------
 * hw_decode: codes (code_size bytes each) to float64.  NaN codes give a
 * quiet NaN, Inf codes +-inf.  o may be NULL; with o->daz, subnormal codes
 * decode as signed zero.  Codes >= 2^bits: HW_E_CODE with res->err_index.
 *--------------------------------------------------------------------------*/
int hw_decode(double *out, const void *in, int code_size, size_t n,
              const hw_format *f, const hw_opts *o, hw_result *res);

/*----------------------------------------------------------------------------
 * hw_encode_fixed: round x * 2^frac_bits to an integer of `bits` bits
 * (two's complement if is_signed) and write its bit pattern.  Overflow:
 * HW_OVF_SATURATE, HW_OVF_WRAP or HW_OVF_ERROR.  Rounding as hw_encode.
 * NaN: HW_NAN_CODE writes o->nan_code, else HW_E_NAN.  +-Inf saturate
 * (HW_OVF_SATURATE) or error.
 *--------------------------------------------------------------------------*/
int hw_encode_fixed(void *out, int code_size, const void *in, int in_kind,
                    size_t n, int32_t bits, int32_t frac_bits,
                    int32_t is_signed, const hw_opts *o, const uint32_t *rand,
                    uint8_t *elem_flags, hw_result *res);

/*----------------------------------------------------------------------------
 * hw_decode_fixed: integer codes to float64 value code * 2^-frac_bits
 * (exact whenever it fits in 53 bits; otherwise rounded to nearest even).
 *--------------------------------------------------------------------------*/
int hw_decode_fixed(double *out, const void *in, int code_size, size_t n,
                    int32_t bits, int32_t frac_bits, int32_t is_signed,
                    hw_result *res);

/*----------------------------------------------------------------------------
 * hw_random_bits: the counter-based generator used for stochastic rounding:
 * out[i] = high 32 bits of splitmix64(seed + (index0 + i + 1) * golden);
 * stochastic rounding with r bits uses the low r bits of out[i].
 *--------------------------------------------------------------------------*/
int hw_random_bits(uint32_t *out, size_t n, uint64_t seed, uint64_t index0);

/* ---- block formats: MX, NVFP4, BFP (hw_block.c, hw_nvfp4.c, hw_bfp.c) ---- */
/* Common layout: `in` holds nrows x ncols values (row-major, HW_IN_F64 or
 * HW_IN_F32); each row is cut into blocks of block_size values along the row,
 * the last one partial when block_size does not divide ncols (its scale is
 * computed from its real elements only: zero padding never changes amax).
 * Element codes go to elem_out (nrows x ncols, elem_size bytes each), one
 * scale code per block to the scale array (nrows x ceil(ncols / block_size));
 * with scales_in != 0 that array is an input instead: the caller's scales are
 * used (a NaN element in a non-NaN block is then HW_E_NAN with err_index,
 * +-Inf saturates with INVALID; an invalid scale code is HW_E_CODE with
 * err_index = the block's index).
 * Elements round with o->rounding (o->sr_bits, o->seed, o->index0 for
 * HW_ROUND_SR: element i of the call uses index0 + i; caller random arrays
 * are not supported); o->overflow, ftz, daz are ignored: elements saturate.
 * res->flags: OR of the element HW_FLAG_*. */

/* NVFP4 arithmetic (hw_nvfp4_quantize). */
enum { HW_NVFP4_FLOAT32 = 0, HW_NVFP4_EXACT = 1 };

/*----------------------------------------------------------------------------
 * hw_mx_quantize: OCP MX v1.0.  shared_exp = floor(log2(amax)) - emax_elem
 * (exact); > 127, or any NaN / Inf in the block: scale code 0xFF (NaN) and
 * element codes 0; < -127 (or an all-zero block): -127.  Scale code =
 * shared_exp + 127 (E8M0).  Elements: V * 2^-shared_exp rounded once into
 * `elem` (a float format), or, when elem is NULL, into an int_bits-bit two's
 * complement integer with int_frac_bits fraction bits clamped to
 * [int_min, 2^(int_bits-1) - 1] (MXINT8: 8, 6, -127 or -128).
 * Returns HW_OK, HW_E_SIZE, HW_E_MODE or HW_E_FORMAT.
 *--------------------------------------------------------------------------*/
int hw_mx_quantize(void *elem_out, int elem_size, uint8_t *scales, int32_t scales_in,
                   const void *in, int in_kind, size_t nrows, size_t ncols, size_t block_size,
                   const hw_format *elem, int32_t emax_elem, int32_t int_bits,
                   int32_t int_frac_bits, int64_t int_min, const hw_opts *o, hw_result *res);

/*----------------------------------------------------------------------------
 * hw_nvfp4_quantize: E2M1 elements (1-byte codes), float8_e4m3fn block scales,
 * tensor_scale ts a binary32 value in [2^-117, FLT_MAX] (else HW_E_MODE);
 * caller scale codes must be 0x01..0x7F (0x7F: NaN block).
 * Block scale: q = amax / (6 * ts); q == 0 -> 1.0; clamp to [2^-9, 448];
 * round to E4M3 ties-to-even.  Element: V / (s * ts) rounded to E2M1 with
 * o->rounding, saturating at +-6.  arith HW_NVFP4_FLOAT32: inputs rounded to
 * binary32, then 6 * ts, amax / (6 ts), s * ts and V / (s ts) each rounded
 * to binary32 (NVIDIA ModelOpt's arithmetic); HW_NVFP4_EXACT: exact
 * quotients, each rounded once.  NaN / Inf in a block: scale 0x7F (NaN),
 * element codes 0.
 *--------------------------------------------------------------------------*/
int hw_nvfp4_quantize(uint8_t *elem_out, uint8_t *scales, int32_t scales_in, const void *in,
                      int in_kind, size_t nrows, size_t ncols, size_t block_size,
                      double tensor_scale,
                      int32_t arith, const hw_opts *o, hw_result *res);

/*----------------------------------------------------------------------------
 * hw_bfp_quantize: shared exponent E = max floor(log2|x|) in the block,
 * clamped to [-bias, bias + 1] (bias = 2^(exp_bits-1) - 1; Inf counts as
 * above the range, an all-zero block takes -bias), stored as E + bias.
 * Element k = round(|x| * 2^(man_bits - 1 - E)), saturating at
 * 2^man_bits - 1 (two's complement: down to -2^man_bits); codes are
 * sign-magnitude (sign bit above man_bits, sign kept for k = 0) or
 * (man_bits + 1)-bit two's complement.  man_bits 1..31, exp_bits 1..10.
 * NaN input: HW_E_NAN with res->err_index (row-major index).
 *--------------------------------------------------------------------------*/
int hw_bfp_quantize(void *elem_out, int elem_size, uint16_t *exps, int32_t exps_in,
                    const void *in, int in_kind, size_t nrows, size_t ncols, size_t block_size,
                    int32_t man_bits, int32_t exp_bits, int32_t twos_complement,
                    const hw_opts *o, hw_result *res);

/* ---- MAC units (hw_mac_*.c, hw_acc_*.c; Python side hwsim/mac.py) ---- */

/* Class of an hw_xval. */
enum { HW_XV_FINITE = 0, HW_XV_INF = 1, HW_XV_NAN = 2 };

/* An exactly decoded operand or product: (-1)^sign * sig * 2^exp when cls is
 * HW_XV_FINITE (sig == 0 for zeros, which keep their sign).  A NaN (cls
 * HW_XV_NAN) keeps its sign and payload: sig = the trailing significand
 * left-aligned at bit 63 (bit 63: the quiet bit of IEEE-style formats; 0 for
 * formats with a single NaN code), exp = 1 for a signalling NaN, else 0.  aexp is the
 * exponent a multi-term adder aligns on: floor(log2|x|) clamped below at the
 * format's emin; for a product, the sum of the operands' aexp. */
typedef struct hw_xval {
    uint64_t sig;
    int32_t exp;
    int16_t aexp;
    uint8_t sign;
    uint8_t cls;
} hw_xval;

/* Accumulator kinds, below-LSB rule of fixed accumulators, shifted-out rule
 * of multi-term adders. */
enum { HW_ACC_FIXED = 0, HW_ACC_FLOAT = 1, HW_ACC_MULTI = 2 };
enum { HW_BELOW_TRUNCATE = 7 };
enum { HW_SHIFTED_TRUNCATE = 0, HW_SHIFTED_STICKY = 1, HW_SHIFTED_ROUND = 2 };

/* One accumulator (see hwsim/mac.py for the semantics of every field). */
typedef struct hw_acc_spec {
    int32_t kind;          /* HW_ACC_*                                         */
    int32_t width;         /* fixed: total bits W (2..4160)                    */
    int32_t frac_bits;     /* fixed: LSB weight 2^-frac_bits                   */
    int32_t below_lsb;     /* fixed: HW_BELOW_TRUNCATE or HW_ROUND_RNE..RTO    */
    int32_t overflow;      /* fixed: HW_OVF_WRAP/SATURATE/ERROR; else HW_OVF_* */
    int32_t rounding;      /* float / multi: HW_ROUND_RNE..RTO                 */
    int32_t fused;         /* float: 1 = exact product, one rounding per add   */
    int32_t fan_in;        /* multi: products per group; fixed: products per   *
                            * register add (0, 1: one; 2..65536: a dot-product  *
                            * unit, groups in k order from each reduction's     *
                            * first term)                                       */
    int32_t window_bits;   /* multi: fraction bits kept below the alignment exp */
    int32_t shifted_out;   /* multi: HW_SHIFTED_*                              */
    int32_t c_late;        /* multi: 1 = running sum joins after the products  */
    const hw_format *fmt;  /* float: register format; multi: output format     */
} hw_acc_spec;

/* A scalar number format that a value is encoded into (product, psum). */
enum { HW_NUM_NONE = 0, HW_NUM_FLOAT = 1, HW_NUM_FIXED = 2 };
typedef struct hw_num_spec {
    int32_t kind;          /* HW_NUM_*                                         */
    int32_t bits;          /* fixed / int: total width                         */
    int32_t frac_bits;     /* fixed / int: LSB weight 2^-frac_bits             */
    int32_t is_signed;     /* fixed / int                                      */
    int32_t rounding;      /* HW_ROUND_RNE..RTO                                */
    int32_t overflow;      /* HW_OVF_*                                         */
    const hw_format *fmt;  /* float formats                                    */
} hw_num_spec;

enum { HW_ORDER_SEQUENTIAL = 0, HW_ORDER_TREE = 1, HW_ORDER_CHUNKED = 2 };
enum { HW_TILES_NONE = 0, HW_TILES_RELOAD = 1, HW_TILES_SEPARATE = 2 };
enum { HW_BIAS_NONE = 0, HW_BIAS_INIT = 1, HW_BIAS_FINAL = 2 };

/* A whole MAC unit. */
typedef struct hw_mac_spec {
    hw_acc_spec acc;       /* the accumulator                                  */
    hw_num_spec product;   /* product rounding (kind HW_NUM_NONE: exact)       */
    int32_t order;         /* HW_ORDER_*                                       */
    int32_t order_param;   /* tree fan-in or chunk size                        */
    hw_acc_spec outer;     /* chunked: the outer accumulator                   */
    int32_t tiles;         /* HW_TILES_*                                       */
    int32_t tile;          /* terms per tile T                                 */
    hw_num_spec psum;      /* partial-sum format of the tiles                  */
    hw_acc_spec adder;     /* separate tiles: the psum adder                   */
    int32_t bias;          /* HW_BIAS_*                                        */
    int32_t xs_lo;         /* exact-sum scratch: exponent of its LSB           */
    int32_t xs_limbs;      /* exact-sum scratch: 64-bit limbs (1..96)          */
    int32_t nan_rule;      /* HW_NANR_* bits (0: canonical NaN, as before)      */
} hw_mac_spec;

/* Per-output statistics arrays (m*n entries each; any may be NULL). */
typedef struct hw_mac_stats {
    int64_t *acc_events;   /* accumulator overflow / saturation / wrap events  */
    int64_t *psum_events;  /* psum encodes that overflowed                     */
    double *max_abs;       /* max |partial sum| (definition in hwsim/mac.py)   */
    int32_t *width_needed; /* fixed: signed width of every pre-overflow value  */
    uint8_t *flags;        /* HW_FLAG_* OR-ed over every step of the output    */
} hw_mac_stats;

/* Trace records of one output (hw_mac_gemm with trace != NULL). */
enum { HW_STEP_MAC = 0, HW_STEP_NODE = 1, HW_STEP_GROUP = 2, HW_STEP_CHUNK = 3,
       HW_STEP_PSUM_STORE = 4, HW_STEP_PSUM_LOAD = 5, HW_STEP_PSUM_ADD = 6,
       HW_STEP_BIAS = 7 };
typedef struct hw_mac_step {
    int32_t kind;          /* HW_STEP_*                                        */
    int32_t unit;          /* 0 accumulator, 1 outer, 2 psum adder, 3 psum     */
    int64_t k0, k1;        /* terms covered, [k0, k1)                          */
    hw_xval in;            /* value entering (product, node or chunk sum...)   */
    uint64_t before, after;/* register codes (wide fixed: low 64 bits)         */
    double before_v;       /* register values (nearest double)                 */
    double after_v;
    double exact_v;        /* exact result before rounding / overflow          */
    uint32_t flags;        /* HW_FLAG_* raised by the step                     */
} hw_mac_step;

/* What hw_mac_gemm reports besides its status. */
typedef struct hw_mac_result {
    uint32_t flags;        /* OR of HW_FLAG_* over every step                  */
    int64_t err_index;     /* output index (i * n + j) of the first error      */
    int64_t err_k;         /* term index reached when it happened              */
    int32_t err_unit;      /* 0 acc, 1 outer, 2 psum adder, 3 psum, 4 product  */
} hw_mac_result;

/*----------------------------------------------------------------------------
 * hw_mac_unpack_float: n codes of FloatFormat f to exact hw_xval.
 * hw_mac_unpack_int: n codes of a bits-wide (un)signed integer, value
 * (code - zp[(i / zp_div) % zp_n]) * 2^-frac_bits (zp may be NULL); bits <= 64
 * and |code - zp| < 2^64.  hw_mac_unpack_f64: float64 values (bias).
 * Return HW_OK, HW_E_SIZE or HW_E_CODE (res->err_index).
 *--------------------------------------------------------------------------*/
int hw_mac_unpack_float(hw_xval *out, const void *codes, int code_size, size_t n,
                        const hw_format *f, hw_result *res);
int hw_mac_unpack_int(hw_xval *out, const void *codes, int code_size, size_t n,
                      int32_t bits, int32_t frac_bits, int32_t is_signed,
                      const int64_t *zp, int64_t zp_div, int64_t zp_n, hw_result *res);
int hw_mac_unpack_f64(hw_xval *out, const double *x, size_t n, hw_result *res);

/*----------------------------------------------------------------------------
 * hw_mac_gemm: out[i, j] = the MAC unit s applied to row i of a and column j
 * of b: a[i*a_rs + k*a_ks], b[i*b_is + k*b_ks + j*b_cs] (b_is = 0 for a
 * matrix product), bias[j] (or NULL), for 0 <= i < m, 0 <= j < n, 0 <= k < kk.
 * out: m*n*out_limbs words: the final register's code (fixed wider than 64
 * bits: out_limbs two's-complement limbs, little-endian).  st: optional
 * statistics; trace: optional step records of output (0, 0) only.
 * Returns HW_OK, HW_E_SIZE, HW_E_MODE, HW_E_NOMEM, HW_E_OVERFLOW (a unit
 * with overflow 'error') or HW_E_NAN (NaN / Inf where no code holds it),
 * with res->err_index / err_k / err_unit set.
 *--------------------------------------------------------------------------*/
int hw_mac_gemm(const hw_mac_spec *s, const hw_xval *a, int64_t a_rs, int64_t a_ks,
                const hw_xval *b, int64_t b_is, int64_t b_ks, int64_t b_cs,
                int64_t m, int64_t n, int64_t kk, const hw_xval *bias,
                uint64_t *out, int32_t out_limbs, hw_mac_stats *st,
                hw_mac_step *trace, int64_t trace_cap, int64_t *trace_len,
                hw_mac_result *res);

/* ---- MAC fast paths (hw_mac_fast_*.c): flat signatures, callable from numba ----
 * Each computes exactly what hw_mac_gemm computes for one configuration;
 * hwsim/_mac_fast.py proves the preconditions before choosing one.
 * out[i*n + j] for 0 <= i < m, 0 <= j < n.  The integer kernels take
 * pre-decoded operand values, b packed in panels of 16 columns: bp[(j / 16) * k * 16 + kk * 16 + (j % 16)], zero
 * padded (int16 pairs: bp[(j / 16) * kp * 32 + (kk / 2) * 32 + (j % 16) * 2 +
 * kk % 2], kp = k rounded up to even).  init / fin of the float kernels are
 * read in groups of 64 columns: zero pad them.  Return HW_OK, HW_E_SIZE, or HW_E_MODE
 * when the CPU / floating-point environment cannot run the kernel bit-exactly
 * (the caller then uses hw_mac_gemm).
 *----------------------------------------------------------------------------
 * The operands of the float kernels, a [m x k] and b [k x n], both
 * row-major (not packed): code size 0: float values; 1, 2, 4 or 8: codes of
 * that size decoded through the lut (lut_n entries; a code >= lut_n:
 * HW_E_CODE).  dec (may be NULL), for 1- and 2-byte float codes: decode by
 * arithmetic instead of the lut: int32 {23 - man_bits, 127 - bias, magnitude
 * bits, signed, first non-finite magnitude (2^magnitude bits: none), 1 if
 * the code 1 << magnitude bits is NaN}; the caller must have checked, code
 * by code, that this equals the lut (hwsim/_mac_fast.py does).  A non-finite
 * operand value stops the kernel with *nonfinite = 1 (outputs then
 * unspecified; the caller uses hw_mac_gemm), else 0.  b_code_size
 * HW_MAC_PACKED: b is float values already in panels of 16 columns over all
 * k rows (see above), as hw_mac_pack_f32 writes them (decoded once, shared
 * by the threads' calls).  threads > 1: the kernel runs that many POSIX
 * threads itself (b decoded once, blocks of rows claimed in turn; the result
 * is the same for every thread count).  hw_mac_pack_f32: b [k x n] (an operand as above)
 * -> panels of panel_rows >= k rows, out pointing at this call's first row
 * in panel 0 (row ranges can be packed in parallel); pad columns zeroed.
 * hw_mac_f32_seq: binary32 accumulator, rounding HW_ROUND_RNE or HW_ROUND_RTZ,
 * products exact in binary32: acc = init[j] (or +0); acc = fma(a[i,kk],
 * b[kk,j], acc) for kk = 0..k-1; then acc = acc + fin[j] (if fin).  max_abs
 * (optional): max |acc| over every write (NaN ignored).  (rtz saturates at
 * the largest finite value; a caller that counts overflow events recomputes
 * outputs whose max_abs reached it.)
 * hw_mac_narrow_seq: the same with the register in binary16 (fmt 0) or
 * bfloat16 (fmt 1), rounding HW_ROUND_RNE or HW_ROUND_RTZ after every add;
 * short_products = 1 promises that every product has at most the register's
 * precision in significant bits and lies on its subnormal grid.  out holds
 * the register values as float32.  events (optional, NULL: not counted, which
 * is faster): adds whose rounded sum exceeded the largest finite value
 * (bfloat16 rtz: see hw_mac_f32_seq); bail[i*n+j] = 1 when the register met
 * a NaN / Inf (recompute with hw_mac_gemm).  hwsim.mac passes NULL: with rne
 * an overflow leaves the register Inf (bail), with rtz it leaves max_abs at
 * the largest finite value, and such outputs are recomputed.
 * hw_mac_i16_wrap: sum_k a*b modulo 2^32 (int16 operands other than -32768).
 * hw_mac_i32_steps (b packed in panels of 16, init / fin read in groups of 32
 * columns: pad them): an integer register of `bits` (2..32) bits, wrap or
 * saturate after every add, starting at init[j] (or 0), then + fin[j]; with
 * stats: events, max |sum before overflow| and the signed width of the exact
 * (overflow-free) partial sums.  Preconditions: |a*b| + 2^(bits-1) < 2^31
 * (bits <= 31) or |a*b| < 2^31 (bits = 32), and, with statistics,
 * k * max|a*b| + |init| + |fin| < 2^31.
 *--------------------------------------------------------------------------*/
int hw_mac_f32_seq(const void *a, int32_t a_code_size, const float *a_lut, int64_t a_lut_n,
                   const int32_t *a_dec, const void *b, int32_t b_code_size,
                   const float *b_lut, int64_t b_lut_n, const int32_t *b_dec,
                   const float *init, const float *fin, float *out, float *max_abs,
                   int64_t m, int64_t n, int64_t k, int32_t rounding, int32_t threads,
                   int64_t *nonfinite);
/* 1 when the SIMD float MAC kernels can run here (compiled in, CPU has AVX2,
 * FMA and F16C): binary32 rtz and the binary16 / bfloat16 registers need
 * them; without them those calls return HW_E_MODE (the caller uses
 * hw_mac_gemm) and binary32 rne runs a portable loop. */
int hw_mac_simd(void);
int hw_mac_pack_f32(const void *b, int32_t code_size, const float *lut, int64_t lut_n,
                    const int32_t *dec, int64_t k, int64_t n, int64_t panel_rows, float *out,
                    int64_t *nonfinite);
int hw_mac_narrow_seq(const void *a, int32_t a_code_size, const float *a_lut,
                      int64_t a_lut_n, const int32_t *a_dec, const void *b, int32_t b_code_size,
                      const float *b_lut, int64_t b_lut_n, const int32_t *b_dec,
                      const float *init, const float *fin, float *out, float *max_abs,
                      int32_t *events, uint8_t *bail, int64_t m, int64_t n, int64_t k,
                      int32_t fmt, int32_t rounding, int32_t short_products, int32_t threads,
                      int64_t *nonfinite);
int hw_mac_i16_wrap(const int16_t *a, const int16_t *bp, int32_t *out, int64_t m, int64_t n,
                    int64_t k);
int hw_mac_i32_steps(const int32_t *a, const int32_t *bp, const int32_t *init,
                     const int32_t *fin, int32_t *out, int32_t *events, int64_t *max_abs,
                     int32_t *width, int64_t m, int64_t n, int64_t k, int32_t bits,
                     int32_t saturate);
/* hw_mac_dot_wrap / hw_mac_dot_steps (csrc/hw_mac_dot.c): integer registers
 * fed by 8-bit dot products (AVX-512 VNNI where the CPU has it, else portable
 * loops; hw_mac_dot_vnni() = 1 when the VNNI kernels run).  a: uint8 [m][kp],
 * kp = 4 * ceil(k / 4), the values plus `off` (0..255), zero padded; bp: int8
 * [ceil(n / 16)][kp / 4][16][4], bp[p][c][l][t] = b[4c + t][16p + l] (zero
 * padded).  hw_mac_dot_wrap: out = low `bits` (2..32) bits of (sum_k a'*b +
 * cadd[j]) modulo 2^32 (cadd optional).  hw_mac_dot_steps: IntAccumulator(bits,
 * overflow, fan_in) (fan_in a multiple of 4) on the values a' - off, b: one
 * add per group of fan_in products, from init[j] (or 0), then + fin[j] (init
 * / fin read in groups of 32 columns: pad them), with the statistics of
 * hw_mac_i32_steps per group add (events and width as int64, max_abs as
 * binary64, exact).  cor (optional, used when off != 0):
 * [ceil(n / 16)][ceil(kp / fan_in)][16], -off * the sum of b over each group
 * (modulo 2^32); without it the kernel computes it.  Return HW_OK, HW_E_SIZE or HW_E_NOMEM. */
int hw_mac_dot_vnni(void);
int hw_mac_dot_wrap(const uint8_t *a, const int8_t *bp, const int32_t *cadd, int32_t *out,
                    int64_t m, int64_t n, int64_t k, int32_t bits);
int hw_mac_dot_steps(const uint8_t *a, const int8_t *bp, int32_t off, const int32_t *cor,
                     const int32_t *init,
                     const int32_t *fin, int32_t *out, int64_t *events, double *max_abs,
                     int64_t *width, int64_t m, int64_t n, int64_t k, int32_t fan_in,
                     int32_t bits, int32_t saturate);

/*----------------------------------------------------------------------------
 * hw_mac_lut_f32 / hw_mac_lut_i32 / hw_mac_lut_i16: operand preparation for
 * the fast paths: out = lut[codes] (codes: rows x cols, code_size bytes each;
 * every code < lut_n, else HW_E_CODE), row-major or in zero-padded panels of
 * 16 columns (f32: panel_rows 0: row-major; else panels of panel_rows >= rows
 * rows, out pointing at this call's first row in panel 0, so that row ranges
 * of b can be packed in parallel; i32: pack 1 packs all rows; i16: pairs = 1
 * gives hw_mac_i16_wrap's pair panels).  The float one sets *nonfinite > 0 when a value is non-finite; the
 * integer ones subtract zp[r] (zp_per_row) or zp[c] (zp may be NULL); the
 * caller guarantees that the i16 values fit int16.
 *--------------------------------------------------------------------------*/
int hw_mac_lut_f32(const void *codes, int code_size, int64_t rows, int64_t cols,
                   const float *lut, int64_t lut_n, float *out, int64_t panel_rows,
                   int64_t *nonfinite);
int hw_mac_lut_i32(const void *codes, int code_size, int64_t rows, int64_t cols,
                   const int32_t *lut, int64_t lut_n, const int32_t *zp, int32_t zp_per_row,
                   int32_t *out, int32_t pack);
int hw_mac_lut_i16(const void *codes, int code_size, int64_t rows, int64_t cols,
                   const int32_t *lut, int64_t lut_n, const int32_t *zp, int32_t zp_per_row,
                   int16_t *out, int32_t pairs);

/* ---- decoding through a table ---- */

/*----------------------------------------------------------------------------
 * hw_decode_lut: out[i] = lut[code_i] for codes of code_size bytes, copying
 * the 8 bytes of each table entry (NaN payloads included).  lut holds
 * lut_len doubles, normally hw_decode of the codes 0..lut_len-1, which
 * makes the result equal hw_decode's.  A code >= lut_len: HW_E_CODE with
 * res->err_index = the first such element (out is then unspecified).
 *--------------------------------------------------------------------------*/
int hw_decode_lut(double *out, const void *in, int code_size, size_t n,
                  const double *lut, size_t lut_len, hw_result *res);

/*----------------------------------------------------------------------------
 * hw_mac_multi_seq: fused multi-term accumulator A (HW_ACC_MULTI), sequential
 * groups, on finite operand values of narrow float formats: a [m, k] and the
 * columns of b as bt [n, k] (float32, exact), with their alignment exponents
 * a_aexp / b_aexp (floor(log2|x|) clamped at the format's emin).  init / fin:
 * bias values (exact in the output format) or NULL.  out: output-format codes;
 * max_abs / events optional.  HW_E_MODE when the window is too wide for the
 * binary64 arithmetic (window_bits + 3 + bits(fan_in + 1) > 53).
 *--------------------------------------------------------------------------*/
int hw_mac_multi_seq(const float *a, const int16_t *a_aexp, const float *bt,
                     const int16_t *b_aexp, const double *init, const double *fin,
                     uint64_t *out, double *max_abs, int32_t *events, int64_t m, int64_t n,
                     int64_t k, const hw_acc_spec *A);

/* HW_CDEF_END */

#ifdef __cplusplus
}
#endif

#endif /* HWSIM_H */
