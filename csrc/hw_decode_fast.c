/* hw_decode_fast.c -- hw_decode_lut(): decode through a caller-built table.
 *
 * For formats of up to 16 bits the caller (hwsim/_native.py) builds the table
 * once with hw_decode over every code and caches it; decoding is then one
 * load and one store per element.  Entries are copied as 8-byte patterns, so
 * the output is hw_decode's bit for bit.  The range check is folded into an
 * OR over the block; the first offending element is located only on error.
 */
#include "hw_internal.h"

static inline __attribute__((always_inline)) int lut_loop(double *out, const void *in,
                                                          const int cs, size_t n,
                                                          const double *lut, size_t len)
{
    size_t i;
    int bad = 0;
    for (i = 0; i < n; i++) {
        uint64_t c, v;
        switch (cs) {
        case 1: c = ((const uint8_t *)in)[i]; break;
        case 2: c = ((const uint16_t *)in)[i]; break;
        case 4: c = ((const uint32_t *)in)[i]; break;
        default: c = ((const uint64_t *)in)[i]; break;
        }
        bad |= c >= len;
        c = c < len ? c : 0;
        memcpy(&v, lut + c, 8);
        memcpy(out + i, &v, 8);
    }
    return bad;
}

int hw_decode_lut(double *out, const void *in, int code_size, size_t n,
                  const double *lut, size_t lut_len, hw_result *res)
{
    int bad;
    size_t i;
    if (res) { res->flags = 0; res->err_index = -1; }
    if (!res || !hwi_valid_code_size(code_size) || !lut || lut_len == 0) return HW_E_SIZE;
    if (n && (!out || !in)) return HW_E_SIZE;
    switch (code_size) {
    case 1: bad = lut_loop(out, in, 1, n, lut, lut_len); break;
    case 2: bad = lut_loop(out, in, 2, n, lut, lut_len); break;
    case 4: bad = lut_loop(out, in, 4, n, lut, lut_len); break;
    default: bad = lut_loop(out, in, 8, n, lut, lut_len); break;
    }
    if (!bad) return HW_OK;
    for (i = 0; i < n; i++) {
        if (hwi_load_code(in, code_size, i) >= lut_len) {
            res->err_index = (int64_t)i;
            break;
        }
    }
    return HW_E_CODE;
}
