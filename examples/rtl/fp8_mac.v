// FP8 x FP8 multiply-accumulate into an IEEE binary32 register, round to nearest even.
//
// E5M2 = 0: operands are E4M3 ("fn" variant, OCP FP8: bias 7, no Inf, S.1111.111 = NaN)
// E5M2 = 1: operands are E5M2 (IEEE-style: bias 15, exponent 31 = Inf / NaN)
// Every enabled clock: acc <= round_rne(acc + a * b), one rounding per step.
// hwsim model: MacUnit("float8_e4m3fn" | "float8_e5m2", same,
//              accumulator=FloatAccumulator("float32"))   (rounding "rne", fused=True),
// bias loaded at init as a float32 code.  The product of two FP8 values is exact in
// binary32 (E4M3: 8-bit significand, 2^-18 .. 2^17.6; E5M2: 6-bit, 2^-32 .. 2^31.7), so
// "fused" and "product rounded first" give the same register.
// Special values, as hwsim's FloatAccumulator: NaN operand, Inf x 0, Inf - Inf or a NaN
// register give the canonical quiet NaN 7FC00000; an Inf product or register propagates
// (overflow of a finite sum rounds to Inf); an exact zero sum is +0 unless both addends
// are -0; binary32 subnormal registers are kept (no flush to zero).
// `define INJECT_BUG: the rounding step rounds half away from zero (guard bit only,
// ignoring sticky and the LSB): only exact ties at the binary32 rounding point show it.
module fp8_mac #(
    parameter E5M2 = 0
) (
    input  wire        clk,
    input  wire        load,   // acc <= init
    input  wire [31:0] init,
    input  wire        en,     // acc <= acc + a * b (rne)
    input  wire [7:0]  a,
    input  wire [7:0]  b,
    output reg  [31:0] acc
);
    localparam EB   = E5M2 ? 5 : 4;              // exponent bits
    localparam MB   = E5M2 ? 2 : 3;              // mantissa bits
    localparam BIAS = E5M2 ? 15 : 7;
    localparam PW   = 2 * (MB + 1);              // exact product significand width
    localparam [31:0] QNAN = 32'h7FC00000;

    // ---- 1. decode the operands ---------------------------------------------------
    wire          sa = a[7], sb = b[7];
    wire [EB-1:0] ea = a[6:MB], eb = b[6:MB];
    wire [MB-1:0] ma = a[MB-1:0], mb = b[MB-1:0];
    wire ea_max = &ea, eb_max = &eb;
    wire a_nan  = E5M2 ? (ea_max && ma != 0) : (ea_max && &ma);
    wire b_nan  = E5M2 ? (eb_max && mb != 0) : (eb_max && &mb);
    wire a_inf  = E5M2 ? (ea_max && ma == 0) : 1'b0;
    wire b_inf  = E5M2 ? (eb_max && mb == 0) : 1'b0;
    wire a_zero = (ea == 0) && (ma == 0);
    wire b_zero = (eb == 0) && (mb == 0);
    wire [MB:0] siga = {ea != 0, ma};            // hidden bit 0 for subnormals
    wire [MB:0] sigb = {eb != 0, mb};
    wire [EB:0] xa = (ea == 0) ? 1 : ea;         // effective biased exponents
    wire [EB:0] xb = (eb == 0) ? 1 : eb;

    // ---- 2. exact product: psig * 2^(xa + xb - 2*BIAS - 2*MB) ----------------------
    wire          ps   = sa ^ sb;
    wire [PW-1:0] psig = siga * sigb;
    wire p_nan  = a_nan || b_nan || (a_inf && b_zero) || (b_inf && a_zero);
    wire p_inf  = (a_inf || b_inf) && !p_nan;

    // as an unpacked binary32: 24-bit significand with its MSB at bit 23, biased exponent
    // (always a normal binary32 for a nonzero product, see the header)
    function integer msb_pos;  // index of the highest 1 of a 51-bit vector, -1 for 0
        input [50:0] v;
        integer i;
        begin
            msb_pos = -1;
            for (i = 0; i < 51; i = i + 1)
                if (v[i]) msb_pos = i;
        end
    endfunction
    wire        p_zero = (psig == 0);
    integer     pmsb;
    reg  [23:0] p_sig24;
    reg  [9:0]  p_exp;                           // biased binary32 exponent
    always @* begin
        pmsb    = msb_pos({{(51-PW){1'b0}}, psig});
        p_sig24 = p_zero ? 24'd0 : ({{(24-PW){1'b0}}, psig} << (23 - pmsb));
        // value = psig * 2^(xa+xb-2*BIAS-2*MB) = p_sig24 * 2^(p_exp - 150)
        p_exp   = p_zero ? 10'd0 : xa + xb - 2*BIAS - 2*MB + 150 - (23 - pmsb);
    end

    // ---- decode the register --------------------------------------------------------
    wire        cs   = acc[31];
    wire [7:0]  ce   = acc[30:23];
    wire [22:0] cm   = acc[22:0];
    wire c_nan = (ce == 8'hFF) && (cm != 0);
    wire c_inf = (ce == 8'hFF) && (cm == 0);
    wire [23:0] c_sig = {ce != 0, cm};
    wire [9:0]  c_exp = (ce == 0) ? 10'd1 : {2'b0, ce};

    // ---- 3. align: X = the larger magnitude, Y shifted right by the exponent gap --------
    // 51-bit frame: bit 50 carry, bits 49..26 the significand, 26 bits below it; bits
    // shifted out of the frame are OR-ed into bit 0 (sticky), which stays at least two
    // places below the guard bit after normalisation.
    wire swap = {p_exp, p_sig24} > {c_exp, c_sig};
    wire        xs = swap ? ps : cs,       ys = swap ? cs : ps;
    wire [9:0]  xe = swap ? p_exp : c_exp, ye = swap ? c_exp : p_exp;
    wire [23:0] xm = swap ? p_sig24 : c_sig, ym = swap ? c_sig : p_sig24;
    wire [9:0]  d  = xe - ye;
    wire [50:0] xf = {1'b0, xm, 26'd0};
    wire [50:0] yf0 = {1'b0, ym, 26'd0};
    wire [50:0] yshift = (d > 50) ? 51'd0 : (yf0 >> d);
    wire        ysticky = (d > 50) ? (yf0 != 0) : ((yshift << d) != yf0);
    wire [50:0] yf = yshift | ysticky;

    // ---- 4. add (exact within the frame) --------------------------------------------------
    wire [50:0] sum = (xs == ys) ? xf + yf : xf - yf;

    // ---- 5. normalise: MSB to bit 49, not below the smallest exponent (subnormals) -------
    integer     smsb, lshift;
    reg  [50:0] nsum;
    reg  [9:0]  nexp;
    always @* begin
        smsb = msb_pos(sum);
        if (sum[50]) begin                       // carry: shift right one, keep sticky
            nsum = (sum >> 1) | sum[0];
            nexp = xe + 1;
        end else begin
            lshift = (smsb < 0) ? 0 : 49 - smsb;
            if (lshift > xe - 1) lshift = xe - 1;  // binary32 subnormal result
            nsum = sum << lshift;
            nexp = xe - lshift;
        end
    end

    // ---- 6. round to nearest even at bit 26 ---------------------------------------------
    wire [23:0] keep   = nsum[49:26];
    wire        guard  = nsum[25];
    wire        sticky = nsum[24:0] != 0;
`ifdef INJECT_BUG
    wire        up     = guard;                  // planted bug: ties round away from zero
`else
    wire        up     = guard && (sticky || keep[0]);
`endif
    wire [24:0] rsig   = keep + up;
    wire [23:0] fsig   = rsig[24] ? rsig[24:1] : rsig[23:0];
    wire [9:0]  fexp   = rsig[24] ? nexp + 1 : nexp;
    wire        zero   = (sum == 0);
    wire        zsign  = xs & ys;                // exact zero: +0 unless -0 + -0 (rne)

    reg [31:0] next;
    always @* begin
        if (p_nan || c_nan || (p_inf && c_inf && ps != cs))
            next = QNAN;
        else if (p_inf)
            next = {ps, 8'hFF, 23'd0};
        else if (c_inf)
            next = acc;
        else if (zero)
            next = {zsign, 31'd0};
        else if (fexp >= 255)
            next = {xs, 8'hFF, 23'd0};          // overflow rounds to Inf (rne)
        else
            next = {xs, fsig[23] ? fexp[7:0] : 8'd0, fsig[22:0]};
    end

    always @(posedge clk) begin
        if (load)
            acc <= init;
        else if (en)
            acc <= next;
    end
endmodule
