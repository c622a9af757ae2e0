// hwsim_pkg: the hwsim C library (build/lib/libhwsim.so, `make lib`) imported into
// SystemVerilog through DPI-C.  Declarations mirror csrc/include/hwsim_dpi.h, which
// documents every function; the constants below repeat that header's values.
// Status: 0 (HWSIM_OK) or negative; flags: SoftFloat bits (inexact 1, underflow 2,
// overflow 4, infinite 8, invalid 16).  Codes travel as longint unsigned.
package hwsim_pkg;
    localparam int HWSIM_OK = 0;
    localparam int HWSIM_E_FORMAT = -1, HWSIM_E_MODE = -2, HWSIM_E_SIZE = -3,
                   HWSIM_E_OVERFLOW = -4, HWSIM_E_NAN = -5, HWSIM_E_CODE = -6,
                   HWSIM_E_NOMEM = -7, HWSIM_E_ARG = -8;
    // mode word: rounding | NaN policy | tininess | accumulator options
    localparam int HWSIM_RNE = 0, HWSIM_RNA = 1, HWSIM_RTZ = 2, HWSIM_RUP = 3,
                   HWSIM_RDN = 4, HWSIM_RTO = 5;
    localparam int HWSIM_NAN_X86 = 'h00, HWSIM_NAN_RISCV = 'h10, HWSIM_NAN_ARM = 'h20;
    localparam int HWSIM_TININESS_BEFORE = 'h40;
    localparam int HWSIM_SATURATE = 'h100;  // int accumulator saturates (else wraps)
    localparam int HWSIM_UNFUSED = 'h200;   // float accumulator rounds the product first
    // hwsim_float_format variant: specials | HWSIM_NOSUB | HWSIM_UNSIGNED | HWSIM_DEFAULT_BIAS
    localparam int HWSIM_SP_IEEE = 0, HWSIM_SP_FN = 1, HWSIM_SP_FNUZ = 2, HWSIM_SP_FINITE = 3,
                   HWSIM_SP_P3109 = 4, HWSIM_SP_P3109_FINITE = 5, HWSIM_SP_E8M0 = 6;
    localparam int HWSIM_NOSUB = 8, HWSIM_UNSIGNED = 16, HWSIM_DEFAULT_BIAS = 32;
    // length of the operand arrays of hwsim_dpi_dot as imported here (n <= this)
    localparam int HWSIM_DOT_LEN = 256;

    // formats (descriptors >= 0) and modes
    import "DPI-C" function int hwsim_dpi_format(input string name);
    import "DPI-C" function int hwsim_dpi_float_format(input int exp_bits, input int man_bits,
                                                        input int bias, input int variant);
    import "DPI-C" function int hwsim_dpi_int_format(input int bits, input int is_signed);
    import "DPI-C" function int hwsim_dpi_format_bits(input int fmt);
    import "DPI-C" function int hwsim_dpi_mode(input string name);
    import "DPI-C" function string hwsim_dpi_strerror(input int status);

    // conversions: real <-> code through $realtobits / $bitstoreal
    import "DPI-C" function int hwsim_dpi_encode_f64(input int fmt, input int mode,
        input longint unsigned x_bits, output longint unsigned code, output int flags);
    import "DPI-C" function int hwsim_dpi_encode_f32(input int fmt, input int mode,
        input int unsigned x_bits, output longint unsigned code, output int flags);
    import "DPI-C" function int hwsim_dpi_decode(input int fmt, input longint unsigned code,
        output longint unsigned f64_bits);

    // IEEE operations on codes of one float format
    import "DPI-C" function int hwsim_dpi_add(input int fmt, input int mode,
        input longint unsigned a, input longint unsigned b,
        output longint unsigned z, output int flags);
    import "DPI-C" function int hwsim_dpi_mul(input int fmt, input int mode,
        input longint unsigned a, input longint unsigned b,
        output longint unsigned z, output int flags);
    import "DPI-C" function int hwsim_dpi_fma(input int fmt, input int mode,
        input longint unsigned a, input longint unsigned b, input longint unsigned c,
        output longint unsigned z, output int flags);

    // MAC units: one step, and a dot product with the bias loaded first
    import "DPI-C" function int hwsim_dpi_mac_step(input int a_fmt, input int b_fmt,
        input int acc_fmt, input int mode, input longint unsigned acc,
        input longint unsigned a, input longint unsigned b,
        output longint unsigned z, output int flags);
    import "DPI-C" function int hwsim_dpi_dot(input int a_fmt, input int b_fmt,
        input int acc_fmt, input int mode, input int n,
        input int unsigned a[HWSIM_DOT_LEN], input int unsigned b[HWSIM_DOT_LEN],
        input longint unsigned bias, output longint unsigned z, output int flags);
endpackage
