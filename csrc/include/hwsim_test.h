/*============================================================================
 * hwsim_test.h -- test hooks of the hwsim kernel library: the two paths
 * behind each public entry point that has a fast kernel (hw_encode,
 * hw_decode, hw_mx_quantize, hw_nvfp4_quantize; dispatchers in
 * csrc/hw_dispatch.c), callable on their own so that the tests compare them
 * code for code, flag for flag and status for status.  Not part of the
 * public API (include/hwsim.h); the Python tests reach them through the cffi
 * module, whose cdef is hwsim.h's HW_CDEF block followed by this one.
 *==========================================================================*/
#ifndef HWSIM_TEST_H
#define HWSIM_TEST_H

#include "hwsim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* HW_CDEF_BEGIN */

/* ---- encode / decode (hw_encode.c, hw_encode_fast.c, hw_decode*.c) ---- */

/*----------------------------------------------------------------------------
 * hw_encode_general: the reference element-by-element loop behind hw_encode
 * (same arguments, results, flags and status codes).  Kept callable so that
 * tests compare the fast kernel against it.
 *--------------------------------------------------------------------------*/
int hw_encode_general(void *out, int code_size, const void *in, int in_kind, size_t n,
                      const hw_format *f, const hw_opts *o, const uint32_t *rand,
                      uint8_t *elem_flags, hw_result *res);

/*----------------------------------------------------------------------------
 * hw_encode_fast: hw_encode for the cases a branch-light kernel covers:
 * float32/float64 input; a format with subnormals, not e8m0, with fewer
 * mantissa bits than the input and bias <= the input's; rounding RNE, RNA,
 * RTZ, RUP, RDN or RTO; any overflow policy and tininess; no FTZ, no DAZ,
 * elem_flags NULL.  Codes, OR-ed flags, status and err_index equal
 * hw_encode_general's bit for bit.  Returns HW_E_MODE, writing nothing,
 * when the call is outside that scope (or invalid): hw_encode then runs
 * hw_encode_general, which reports any real error.
 *--------------------------------------------------------------------------*/
int hw_encode_fast(void *out, int code_size, const void *in, int in_kind, size_t n,
                   const hw_format *f, const hw_opts *o, const uint32_t *rand,
                   uint8_t *elem_flags, hw_result *res);

/*----------------------------------------------------------------------------
 * hw_decode_general: the reference element-by-element loop behind hw_decode
 * (same arguments, results and status codes).
 *--------------------------------------------------------------------------*/
int hw_decode_general(double *out, const void *in, int code_size, size_t n,
                      const hw_format *f, const hw_opts *o, hw_result *res);

/*----------------------------------------------------------------------------
 * hw_decode_fast: hw_decode for formats with subnormals, not e8m0, bias <=
 * 1023 and at most 63 bits, without DAZ: normal codes and zeros are built
 * with integer operations, the other codes go through the general element loop.
 * Results, status and err_index equal hw_decode_general's bit for bit.
 * Returns HW_E_MODE, writing nothing, outside that scope.
 *--------------------------------------------------------------------------*/
int hw_decode_fast(double *out, const void *in, int code_size, size_t n,
                   const hw_format *f, const hw_opts *o, hw_result *res);

/* ---- MX / NVFP4 block quantization (hw_block.c, hw_mx_fast.c, hw_nvfp4*.c) ---- */

/*----------------------------------------------------------------------------
 * hw_mx_quantize_general: the reference block-by-block, element-by-element
 * loop behind hw_mx_quantize (same arguments, results, flags and status
 * codes).  Kept callable so that tests compare the fast kernel against it.
 *--------------------------------------------------------------------------*/
int hw_mx_quantize_general(void *elem_out, int elem_size, uint8_t *scales, int32_t scales_in,
                           const void *in, int in_kind, size_t nrows, size_t ncols,
                           size_t block_size, const hw_format *elem, int32_t emax_elem,
                           int32_t int_bits, int32_t int_frac_bits, int64_t int_min,
                           const hw_opts *o, hw_result *res);

/*----------------------------------------------------------------------------
 * hw_mx_quantize_fast: hw_mx_quantize for float elements (a format with
 * subnormals, not e8m0, bias <= 127, 1-byte codes), float32 / float64 input,
 * block_size <= 1024, rounding RNE, RNA, RTZ, RUP, RDN or RTO: the element
 * codes come from the branch-light kernel of hw_encode_fast with the block's
 * shared exponent folded into the exponent arithmetic.  Codes, scales and
 * OR-ed flags equal hw_mx_quantize_general's.  Returns HW_E_MODE ("not
 * handled") when the call is outside that scope (writing nothing) or ends in
 * an error (outputs partly written): hw_mx_quantize then runs the general
 * loop, which reports the status, err_index and flags.
 *--------------------------------------------------------------------------*/
int hw_mx_quantize_fast(void *elem_out, int elem_size, uint8_t *scales, int32_t scales_in,
                        const void *in, int in_kind, size_t nrows, size_t ncols,
                        size_t block_size, const hw_format *elem, int32_t emax_elem,
                        int32_t int_bits, int32_t int_frac_bits, int64_t int_min,
                        const hw_opts *o, hw_result *res);

/*----------------------------------------------------------------------------
 * hw_nvfp4_quantize_general: the reference loop behind hw_nvfp4_quantize
 * (same arguments, results, flags and status codes).
 *--------------------------------------------------------------------------*/
int hw_nvfp4_quantize_general(uint8_t *elem_out, uint8_t *scales, int32_t scales_in,
                              const void *in, int in_kind, size_t nrows, size_t ncols,
                              size_t block_size, double tensor_scale, int32_t arith,
                              const hw_opts *o, hw_result *res);

/*----------------------------------------------------------------------------
 * hw_nvfp4_quantize_fast: hw_nvfp4_quantize for HW_NVFP4_FLOAT32 arithmetic,
 * float32 / float64 input, block_size <= 1024, rounding RNE, RNA, RTZ, RUP,
 * RDN or RTO: each element's binary32 quotient V / (s * ts) is rounded to
 * E2M1 by the branch-light kernel of hw_encode_fast.  Codes, scales and OR-ed
 * flags equal hw_nvfp4_quantize_general's.  Returns HW_E_MODE ("not
 * handled") when the call is outside that scope (writing nothing) or ends in
 * an error (outputs partly written): hw_nvfp4_quantize then runs the general
 * loop, which reports the status, err_index and flags.
 *--------------------------------------------------------------------------*/
int hw_nvfp4_quantize_fast(uint8_t *elem_out, uint8_t *scales, int32_t scales_in,
                           const void *in, int in_kind, size_t nrows, size_t ncols,
                           size_t block_size, double tensor_scale, int32_t arith,
                           const hw_opts *o, hw_result *res);

/*----------------------------------------------------------------------------
 * hw_mac_i32_steps_portable: hw_mac_i32_steps' portable loop alone (same
 * arguments and results), so that the tests compare it with the SIMD kernels
 * (AVX2, and the AVX-512 VNNI speculation of hw_mac_vnni.c) on any build.
 *--------------------------------------------------------------------------*/
int hw_mac_i32_steps_portable(const int32_t *a, const int32_t *bp, const int32_t *init,
                              const int32_t *fin, int32_t *out, int32_t *events,
                              int64_t *max_abs, int32_t *width, int64_t m, int64_t n, int64_t k,
                              int32_t bits, int32_t saturate);

/* hw_mac_dot_wrap_portable / hw_mac_dot_steps_portable: the portable loops
 * of hw_mac_dot_wrap / hw_mac_dot_steps alone (same arguments and results). */
int hw_mac_dot_wrap_portable(const uint8_t *a, const int8_t *bp, const int32_t *cadd,
                             int32_t *out, int64_t m, int64_t n, int64_t k, int32_t bits);
int hw_mac_dot_steps_portable(const uint8_t *a, const int8_t *bp, int32_t off,
                              const int32_t *cor, const int32_t *init, const int32_t *fin, int32_t *out,
                              int64_t *events, double *max_abs, int64_t *width, int64_t m,
                              int64_t n, int64_t k, int32_t fan_in, int32_t bits,
                              int32_t saturate);

/* HW_CDEF_END */

#ifdef __cplusplus
}
#endif

#endif /* HWSIM_TEST_H */
