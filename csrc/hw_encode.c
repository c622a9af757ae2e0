/* hw_encode.c -- float64 / float32 arrays to codes of a floating format. */
#include "hw_internal.h"

static int check_opts(const hw_format *f, const hw_opts *o)
{
    if (o->rounding < HW_ROUND_RNE || o->rounding > HW_ROUND_SR) return HW_E_MODE;
    if (o->overflow < HW_OVF_SATURATE || o->overflow > HW_OVF_ERROR) return HW_E_MODE;
    if (o->overflow == HW_OVF_SPECIAL && !f->has_inf && !f->has_nan) return HW_E_MODE;
    if (o->tininess != HW_TININESS_AFTER && o->tininess != HW_TININESS_BEFORE) return HW_E_MODE;
    if (o->rounding == HW_ROUND_SR && (o->sr_bits < 1 || o->sr_bits > 32)) return HW_E_MODE;
    return HW_OK;
}

/* Special (non-finite, zero, negative-in-unsigned) inputs: returns 1 and
 * sets *code when x is handled here. */
static int encode_special(int sign, int cls, const hw_format *f,
                          const hw_opts *o, uint64_t *code, uint32_t *flags)
{
    uint64_t s = sign ? f->sign_bit : 0;
    if (cls == 0) { /* NaN */
        *code = hwi_nan_code(f, o, flags);
        return 1;
    }
    if (sign && !f->is_signed && cls != 2) { /* -0 (also a DAZ-flushed -subnormal) is zero */
        if (o->overflow == HW_OVF_SATURATE) { *flags |= HW_FLAG_INEXACT; *code = 0; }
        else if (f->has_nan) { *flags |= HW_FLAG_INVALID; *code = f->nan_code; }
        else if (o->overflow == HW_OVF_ERROR) { *flags |= HWI_ERR_OVERFLOW; *code = 0; }
        else { *flags |= HW_FLAG_INVALID; *code = 0; }
        return 1;
    }
    if (cls == 1) { /* Inf */
        if (o->overflow != HW_OVF_SATURATE && f->has_inf) {
            *code = sign ? (f->inf_code | f->sign_bit) : f->inf_code;
        } else if (o->overflow == HW_OVF_SPECIAL && f->has_nan) {
            *flags |= HW_FLAG_INVALID;
            *code = f->specials == HW_SPECIALS_FN ? (s | f->nan_code) : f->nan_code;
        } else if (o->overflow == HW_OVF_ERROR) {
            *flags |= HWI_ERR_OVERFLOW;
            *code = 0;
        } else {
            *flags |= HW_FLAG_INVALID;
            *code = s | f->max_code;
        }
        return 1;
    }
    if (cls == 2) { /* zero */
        if (!f->has_zero) {
            if (o->overflow == HW_OVF_SATURATE) { *flags |= HW_FLAG_INEXACT; *code = 0; }
            else { *flags |= HW_FLAG_INVALID; *code = f->nan_code; }
        } else {
            *code = hwi_zero_code(sign, f);
        }
        return 1;
    }
    return 0;
}

static inline uint64_t encode_one(double x, const hw_format *f, const hw_opts *o,
                                  uint32_t rnd, uint32_t *flags)
{
    uint64_t u = hwi_f64_bits(x), sig, code;
    int sign = (int)(u >> 63);
    int ex = (int)((u >> 52) & 0x7FF);
    int cls = 3; /* 0 NaN, 1 Inf, 2 zero, 3 finite */
    int32_t e2;
    sig = u & 0xFFFFFFFFFFFFFull;
    if (ex == 0x7FF) cls = sig ? 0 : 1;
    else if (ex == 0 && (sig == 0 || o->daz)) cls = 2;
    if (cls != 3 || (sign && !f->is_signed)) {
        if (encode_special(sign, cls, f, o, &code, flags)) return code;
    }
    if (ex == 0) e2 = -1074;
    else { sig |= 1ull << 52; e2 = ex - 1075; }
    return hwi_round_pack(sign, sig, e2, 0, f, o, rnd, flags);
}

/* Encodes n elements with the element routine above (no argument checks: the
 * callers, hw_encode_general and the fast encoder's redo of marked elements,
 * checked them).  Sets res->flags (and res->err_index on an error). */
int hwi_encode_elems(void *out, int code_size, const void *in, int in_kind, size_t n,
                     const hw_format *f, const hw_opts *o, const uint32_t *rand,
                     uint8_t *elem_flags, hw_result *res)
{
    size_t i;
    uint32_t all = 0, mask = hwi_sr_mask(o);
    int st;
    for (i = 0; i < n; i++) {
        uint32_t fl = 0;
        double x = hwi_load_input(in, in_kind, i, o->daz);
        uint64_t code = encode_one(x, f, o, hwi_sr_word(o, rand, i, mask), &fl);
        if ((st = hwi_put_elem(out, code_size, i, code, fl, elem_flags, &all, res)) != HW_OK)
            return st;
    }
    res->flags = all;
    return HW_OK;
}

int hw_encode_general(void *out, int code_size, const void *in, int in_kind, size_t n,
                      const hw_format *f, const hw_opts *o, const uint32_t *rand,
                      uint8_t *elem_flags, hw_result *res)
{
    int st;
    if (res) { res->flags = 0; res->err_index = -1; }
    if (!f || !o || !res) return HW_E_SIZE;
    if (!hwi_valid_code_size(code_size) || code_size * 8 < f->bits) return HW_E_SIZE;
    if (in_kind != HW_IN_F64 && in_kind != HW_IN_F32) return HW_E_SIZE;
    if (n && (!out || !in)) return HW_E_SIZE;
    if ((st = check_opts(f, o)) != HW_OK) return st;
    if (o->rounding == HW_ROUND_SR && o->sr_external && !rand && n) return HW_E_SIZE;
    return hwi_encode_elems(out, code_size, in, in_kind, n, f, o, rand, elem_flags, res);
}
