/* hw_dpi_internal.h -- helpers shared by hw_dpi.c and hw_dpi_mac.c (the
 * DPI-C interface, include/hwsim_dpi.h).  Never exposed to cffi. */
#ifndef HW_DPI_INTERNAL_H
#define HW_DPI_INTERNAL_H

#include "include/hwsim.h"
#include "include/hwsim_dpi.h"

#define HWD_INT_BIT (1 << 29)

/* a checked format descriptor: a float format (f, initialised) or an int */
typedef struct {
    int is_int;
    int bits;
    int is_signed;
    hw_format f;
} hwd_fmt;

/* descriptor -> hwd_fmt; HW_OK or HWSIM_DPI_E_FORMAT */
int hwd_unpack_fmt(int d, hwd_fmt *out);
/* mode word check: HW_OK or HWSIM_DPI_E_MODE */
int hwd_check_mode(int mode);
/* encode options of a mode word for format f (its default overflow policy) */
void hwd_opts(const hw_format *f, int mode, hw_opts *o);
/* the status an internal HWI_ERR_* flag stands for (HW_OK without one) */
int hwd_status_of(uint32_t fl);

#endif /* HW_DPI_INTERNAL_H */
