/* hw_dispatch.c -- the public entry points that have a fast kernel: each runs
 * the fast kernel (hw_*_fast.c) and, when it answers HW_E_MODE ("not
 * handled": a call outside its coverage, or one that ends in an error whose
 * index and flags the general loop must report), the general loop
 * (hw_encode.c, hw_decode.c, hw_block.c, hw_nvfp4.c).  Both give the same
 * codes, flags and errors; the tests compare them.  This is the only file
 * that calls both: the fast kernels never call the hw_*_general entry points
 * (they reuse the general files' element routines, hwi_*, for the elements
 * they mark). */
#include "hw_internal.h"

/* hw_encode: the fast kernel (hw_encode_fast.c) where it applies, else the
 * general loop (hw_encode.c); both give the same codes, flags and errors. */
int hw_encode(void *out, int code_size, const void *in, int in_kind, size_t n,
              const hw_format *f, const hw_opts *o, const uint32_t *rand,
              uint8_t *elem_flags, hw_result *res)
{
    int st = hw_encode_fast(out, code_size, in, in_kind, n, f, o, rand, elem_flags, res);
    if (st != HW_E_MODE) return st;
    return hw_encode_general(out, code_size, in, in_kind, n, f, o, rand, elem_flags, res);
}

/* hw_decode: the fast decoder (hw_decode_fast.c) where it applies, else the
 * general loop (hw_decode.c); both give the same values and errors. */
int hw_decode(double *out, const void *in, int code_size, size_t n,
              const hw_format *f, const hw_opts *o, hw_result *res)
{
    int st = hw_decode_fast(out, in, code_size, n, f, o, res);
    if (st != HW_E_MODE) return st;
    return hw_decode_general(out, in, code_size, n, f, o, res);
}

/* hw_mx_quantize: the fast kernel (hw_mx_fast.c) where it applies, else the
 * general loop; both give the same codes, scales, flags and errors. */
int hw_mx_quantize(void *elem_out, int elem_size, uint8_t *scales, int32_t scales_in,
                   const void *in, int in_kind, size_t nrows, size_t ncols, size_t block_size,
                   const hw_format *elem, int32_t emax_elem, int32_t int_bits,
                   int32_t int_frac_bits, int64_t int_min, const hw_opts *o, hw_result *res)
{
    int st = hw_mx_quantize_fast(elem_out, elem_size, scales, scales_in, in, in_kind, nrows,
                                 ncols, block_size, elem, emax_elem, int_bits, int_frac_bits,
                                 int_min, o, res);
    if (st != HW_E_MODE) return st;
    return hw_mx_quantize_general(elem_out, elem_size, scales, scales_in, in, in_kind, nrows,
                                  ncols, block_size, elem, emax_elem, int_bits, int_frac_bits,
                                  int_min, o, res);
}

/* hw_nvfp4_quantize: the fast kernel (hw_nvfp4_fast.c) where it applies, else
 * the general loop; both give the same codes, scales, flags and errors. */
int hw_nvfp4_quantize(uint8_t *elem_out, uint8_t *scales, int32_t scales_in, const void *in,
                      int in_kind, size_t nrows, size_t ncols, size_t block_size,
                      double tensor_scale, int32_t arith, const hw_opts *o, hw_result *res)
{
    int st = hw_nvfp4_quantize_fast(elem_out, scales, scales_in, in, in_kind, nrows, ncols,
                                    block_size, tensor_scale, arith, o, res);
    if (st != HW_E_MODE) return st;
    return hw_nvfp4_quantize_general(elem_out, scales, scales_in, in, in_kind, nrows, ncols,
                                     block_size, tensor_scale, arith, o, res);
}
