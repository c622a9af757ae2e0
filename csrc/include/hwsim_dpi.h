/*============================================================================
 * hwsim_dpi.h -- scalar entry points of the hwsim kernel library for HDL
 * simulators (SystemVerilog DPI-C; any C caller).
 *
 * Only DPI-compatible types cross this boundary: int (SV int), unsigned int
 * (int unsigned), unsigned long long (longint unsigned), const char * (string)
 * and pointers for output arguments and fixed-size arrays.  No state, no
 * handles, no allocation visible to the caller.  Every argument is checked:
 * a bad format, mode, code or pointer returns a negative status, never
 * undefined behaviour.  The SystemVerilog package is
 * examples/rtl/dpi/hwsim_pkg.sv; docs/rtl.md, "DPI-C library", shows a flow.
 *
 * Status: HWSIM_DPI_OK (0) or a negative HW_E_* code of hwsim.h (same
 * values, repeated below so this header stands alone) or HWSIM_DPI_E_ARG.
 * Flags: SoftFloat / TestFloat bits (inexact 1, underflow 2, overflow 4,
 * infinite 8, invalid 16), written only on success.
 *==========================================================================*/
#ifndef HWSIM_DPI_H
#define HWSIM_DPI_H

#ifdef __cplusplus
extern "C" {
#endif

/* status codes */
#define HWSIM_DPI_OK 0
#define HWSIM_DPI_E_FORMAT (-1)   /* bad format descriptor or name            */
#define HWSIM_DPI_E_MODE (-2)     /* bad rounding mode / mode word            */
#define HWSIM_DPI_E_SIZE (-3)     /* n out of range, unit too wide            */
#define HWSIM_DPI_E_OVERFLOW (-4) /* overflow under an 'error' policy          */
#define HWSIM_DPI_E_NAN (-5)      /* NaN result in a format without NaN       */
#define HWSIM_DPI_E_CODE (-6)     /* input code >= 2^bits of its format       */
#define HWSIM_DPI_E_NOMEM (-7)
#define HWSIM_DPI_E_ARG (-8)      /* NULL pointer, or an operation the format cannot do */

/* A format descriptor is an int >= 0 made by hwsim_dpi_format (a name),
 * hwsim_dpi_float_format or hwsim_dpi_int_format (fields); layout:
 *   float: bits 0-3 exp_bits, 4-9 man_bits, 10-12 specials (HW_SPECIALS_*),
 *          13 no subnormals, 14 unsigned, 15-28 bias + 4096;
 *   int:   bit 29 set, bits 0-6 width (2..64), 14 unsigned.
 * Descriptors are checked on every call (hw_format_init's rules). */
#define HWSIM_DPI_SP_IEEE 0
#define HWSIM_DPI_SP_FN 1
#define HWSIM_DPI_SP_FNUZ 2
#define HWSIM_DPI_SP_FINITE 3
#define HWSIM_DPI_SP_P3109 4
#define HWSIM_DPI_SP_P3109_FINITE 5
#define HWSIM_DPI_SP_E8M0 6
/* `variant` of hwsim_dpi_float_format: specials | these bits */
#define HWSIM_DPI_NOSUB 8          /* exponent field 0 is zero only       */
#define HWSIM_DPI_UNSIGNED 16      /* no sign bit                          */
#define HWSIM_DPI_DEFAULT_BIAS 32  /* ignore `bias`: hwsim's default bias  */

/* Mode word: rounding | NaN policy | tininess | accumulator options. */
#define HWSIM_DPI_RNE 0
#define HWSIM_DPI_RNA 1
#define HWSIM_DPI_RTZ 2
#define HWSIM_DPI_RUP 3
#define HWSIM_DPI_RDN 4
#define HWSIM_DPI_RTO 5
#define HWSIM_DPI_NAN_X86 0x00    /* propagate, default NaN negative (hwsim default) */
#define HWSIM_DPI_NAN_RISCV 0x10  /* canonical NaN                               */
#define HWSIM_DPI_NAN_ARM 0x20    /* propagate, a signalling operand wins        */
#define HWSIM_DPI_TININESS_BEFORE 0x40
#define HWSIM_DPI_SATURATE 0x100  /* int accumulator saturates (else wraps)      */
#define HWSIM_DPI_UNFUSED 0x200   /* float accumulator rounds the product first  */
#define HWSIM_DPI_MODE_MASK 0x37F /* every defined bit                           */

/* largest n of hwsim_dpi_dot */
#define HWSIM_DPI_DOT_MAX 65536

/* ---- formats and modes ---------------------------------------------------
 * hwsim_dpi_format: a catalogue name or alias of hwsim (float64, float32,
 * bfloat16, float16, tf32, float8_e5m2, float8_e4m3fn, fp8_e4m3, e5m2,
 * float6_e2m3fn, float4_e2m1fn, ...) or intN / uintN (N 2..64).
 * hwsim_dpi_mode: "rne", "rna", "rtz", "rup", "rdn", "rto" -> HWSIM_DPI_*.
 * hwsim_dpi_format_bits: total width of a descriptor's codes. */
int hwsim_dpi_format(const char *name);
int hwsim_dpi_float_format(int exp_bits, int man_bits, int bias, int variant);
int hwsim_dpi_int_format(int bits, int is_signed);
int hwsim_dpi_format_bits(int fmt);
int hwsim_dpi_mode(const char *name);
const char *hwsim_dpi_strerror(int status);

/* ---- conversions (float formats) -----------------------------------------
 * encode: the float64 / float32 value with these bits rounded once into fmt
 * (hwsim.encode: overflow policy the format's default, NaN policy ignored).
 * decode: the code's value as float64 bits (exact; NaN: a quiet NaN). */
int hwsim_dpi_encode_f64(int fmt, int mode, unsigned long long x_bits,
                         unsigned long long *code, int *flags);
int hwsim_dpi_encode_f32(int fmt, int mode, unsigned int x_bits,
                         unsigned long long *code, int *flags);
int hwsim_dpi_decode(int fmt, unsigned long long code, unsigned long long *f64_bits);

/* ---- IEEE operations on codes of one float format (hwsim.rtl.ieee) -------
 * add: a + b, mul: a * b, fma: a * b + c, each rounded once; NaN results by
 * the mode's NaN policy, overflow the format's default policy.  mul and fma
 * need man_bits <= 31 (exact 64-bit products), else HWSIM_DPI_E_ARG. */
int hwsim_dpi_add(int fmt, int mode, unsigned long long a, unsigned long long b,
                  unsigned long long *z, int *flags);
int hwsim_dpi_mul(int fmt, int mode, unsigned long long a, unsigned long long b,
                  unsigned long long *z, int *flags);
int hwsim_dpi_fma(int fmt, int mode, unsigned long long a, unsigned long long b,
                  unsigned long long c, unsigned long long *z, int *flags);

/* ---- MAC units (hwsim.mac.MacUnit, through the C MAC engine) --------------
 * Operands a (a_fmt) and b (b_fmt): float or int formats.  The register:
 * acc_fmt a float format (FloatAccumulator(acc_fmt, rounding, fused unless
 * HWSIM_DPI_UNFUSED, the format's default overflow)) or an int format of W
 * bits (IntAccumulator(W, "saturate" with HWSIM_DPI_SATURATE, else "wrap");
 * integer operands only).  Register codes are acc_fmt codes (int: W-bit
 * two's complement).  mac_step: the register after acc (+) a * b.  dot: the
 * register after bias, then n steps a[0] * b[0] ... a[n-1] * b[n-1]
 * (n 0..HWSIM_DPI_DOT_MAX); flags OR-ed over the steps (sticky).  NaN and
 * flag rules are the engine's (hwsim.mac). */
int hwsim_dpi_mac_step(int a_fmt, int b_fmt, int acc_fmt, int mode, unsigned long long acc,
                       unsigned long long a, unsigned long long b, unsigned long long *z,
                       int *flags);
int hwsim_dpi_dot(int a_fmt, int b_fmt, int acc_fmt, int mode, int n, const unsigned int *a,
                  const unsigned int *b, unsigned long long bias, unsigned long long *z,
                  int *flags);

#ifdef __cplusplus
}
#endif

#endif /* HWSIM_DPI_H */
