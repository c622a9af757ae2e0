// A bench for Verilator with hwsim as the golden model through DPI-C (no Python, no files):
//  1. int8_mac (../int8_mac.v) with a W-bit register: every output of an M x N x K
//     int8 matmul is run on the DUT; after every MAC step the DUT register is checked
//     against hwsim_dpi_mac_step, and the final register against hwsim_dpi_dot.
//     Prints "FAIL element <i> (<m>, <n>) step <k>: ..." for the first wrong step.
//  2. FP8 E4M3 (OCP, float8_e4m3fn) x E4M3 dot products into an fp32 register, rne:
//     golden values from hwsim_dpi_dot, checked step by step against hwsim_dpi_mac_step
//     and against the IEEE fp32 fma (hwsim_dpi_fma on operands converted exactly with
//     hwsim_dpi_decode + hwsim_dpi_encode_f64): a self-check of the library that the
//     FP8 MAC DUT check (3.) uses as its reference.
//  3. fp8_mac (../fp8_mac.v) with E4M3 and with E5M2 operands (E5M2 = 0 / 1), fp32
//     register, rne: FP8_DIRECTED directed elements (the cases of gen_fp8.py: exact ties
//     at the binary32 rounding point with even and odd LSB, near-ties, cancellation to
//     +0 / -0, FP8 and binary32 subnormals, NaN / Inf; codes made here from real values
//     with hwsim_dpi_encode_f64) and FP8_RAND seeded random elements of FP8_RK steps.
//     After every MAC step the DUT register is checked against hwsim_dpi_mac_step, the
//     final one against hwsim_dpi_dot.  Prints
//     "FAIL fp8_mac <E4M3|E5M2> element <i> step <k> (<case>): ..." for the first wrong step.
//  4. mac_tile (../mac_tile.v), TP x TQ int8_mac PEs with a TW-bit saturating register:
//     one tile pass of TK steps with seeded inputs, weights and column biases; every PE
//     checked after every step against hwsim_dpi_mac_step.  Prints
//     "FAIL mac_tile element <p*TQ+q> PE (<p>, <q>) step <k>: ..." for the first wrong step.
// Operands come from a seeded xorshift32, so every run is the same.  Macros (-D):
// W (register bits), SAT (1 saturate, 0 wrap), M, N, K, FP8_DOTS, FP8_K, FP8_RAND, FP8_RK,
// TP, TQ, TW, TK, SEED, INJECT_BUG (planted in int8_mac.v: negative overflow wraps;
// fp8_mac.v: ties round away from zero; mac_tile.v: the last row drops its input's sign).
// Ends with "PASS" or one "FAIL ..." line per failing DUT and "MISMATCHES: ...".
`ifndef W
`define W 14
`endif
`ifndef SAT
`define SAT 1
`endif
`ifndef M
`define M 4
`endif
`ifndef N
`define N 3
`endif
`ifndef K
`define K 32
`endif
`ifndef FP8_DOTS
`define FP8_DOTS 16
`endif
`ifndef FP8_K
`define FP8_K 64
`endif
`ifndef FP8_RAND
`define FP8_RAND 16
`endif
`ifndef FP8_RK
`define FP8_RK 16
`endif
`ifndef TP
`define TP 2
`endif
`ifndef TQ
`define TQ 3
`endif
`ifndef TW
`define TW 20
`endif
`ifndef TK
`define TK 32
`endif
`ifndef SEED
`define SEED 32'h1234_5678
`endif

module tb_dpi_mac;
    import hwsim_pkg::*;

    reg clk = 0;
    reg load = 0, en = 0;
    reg signed [`W-1:0] init;
    reg signed [7:0] a, b;
    wire signed [`W-1:0] acc;

    int8_mac #(.W(`W), .SAT(`SAT)) dut (.clk(clk), .load(load), .init(init), .en(en),
                                         .a(a), .b(b), .acc(acc));
    // fp8_mac, E4M3 (u = 0) and E5M2 (u = 1) operands; bit u of f_en enables DUT u.
    // DUT inputs are always written whole: Verilator 5.006 (--timing) missed the update of
    // continuous assignments in the DUT after writes through a variable index / part-select.
    reg f_load = 0;
    reg [1:0] f_en = 0;
    reg [31:0] f_init;
    reg [7:0] f_a, f_b;
    wire [31:0] f_acc0, f_acc1;
    fp8_mac #(.E5M2(0)) dut_e4m3 (.clk(clk), .load(f_load), .init(f_init), .en(f_en[0]),
                                  .a(f_a), .b(f_b), .acc(f_acc0));
    fp8_mac #(.E5M2(1)) dut_e5m2 (.clk(clk), .load(f_load), .init(f_init), .en(f_en[1]),
                                  .a(f_a), .b(f_b), .acc(f_acc1));

    // mac_tile: TP x TQ int8 PEs
    reg t_load = 0, t_en = 0;
    reg [`TQ*`TW-1:0] t_init;
    reg [`TP*8-1:0] t_a;
    reg [`TQ*8-1:0] t_b;
    wire [`TP*`TQ*`TW-1:0] t_acc;
    mac_tile #(.P(`TP), .Q(`TQ), .W(`TW), .SAT(1)) dut_tile (.clk(clk), .load(t_load),
        .init(t_init), .en(t_en), .a(t_a), .b(t_b), .acc(t_acc));

    always #5 clk = ~clk;

    int unsigned rng = `SEED;
    function automatic int unsigned next_rand();
        rng ^= rng << 13;
        rng ^= rng >> 17;
        rng ^= rng << 5;
        return rng;
    endfunction

    // a status other than HWSIM_OK stops the bench
    task automatic check_rc(input int rc, input string what);
        if (rc != HWSIM_OK) begin
            $display("ERROR %s: status %0d (%s)", what, rc, hwsim_dpi_strerror(rc));
            $fatal(1);
        end
    endtask

    localparam longint unsigned WMASK = (64'd1 << `W) - 1;
    int unsigned A [`M][`K];
    int unsigned B [`K][`N];
    int unsigned BIAS [`N];
    int unsigned av [HWSIM_DOT_LEN];
    int unsigned bv [HWSIM_DOT_LEN];
    int i8, accf, mode, bad, rc, fl, dfl, e;
    int bad_i8, bad_f8 [2], bad_tile, n_f8, steps_f8, steps_tile;
    longint unsigned g, gnext, dot;

    task automatic run_int8();
        i8 = hwsim_dpi_format("int8");
        accf = hwsim_dpi_int_format(`W, 1);
        mode = `SAT ? HWSIM_SATURATE : 0;
        for (int m = 0; m < `M; m++)
            for (int k = 0; k < `K; k++) A[m][k] = next_rand() & 8'hFF;
        for (int k = 0; k < `K; k++)
            for (int n = 0; n < `N; n++) B[k][n] = next_rand() & 8'hFF;
        for (int n = 0; n < `N; n++)
            BIAS[n] = (next_rand() % (1 << (`W - 2))) - (1 << (`W - 3));
        for (int m = 0; m < `M; m++)
            for (int n = 0; n < `N; n++) begin
                int first_k = -1;
                longint unsigned dut_k = 0, gold_k = 0;
                e = m * `N + n;
                g = BIAS[n] & WMASK;
                init = BIAS[n][`W-1:0]; load = 1; en = 0;
                @(posedge clk); #1 load = 0;
                for (int k = 0; k < `K; k++) begin
                    a = A[m][k][7:0]; b = B[k][n][7:0]; en = 1;
                    av[k] = A[m][k]; bv[k] = B[k][n];
                    @(posedge clk); #1 en = 0;
                    check_rc(hwsim_dpi_mac_step(i8, i8, accf, mode, g, A[m][k], B[k][n],
                                                gnext, fl), "mac_step");
                    g = gnext;
                    if (first_k < 0 && (longint'(acc) & WMASK) != g) begin
                        first_k = k; dut_k = longint'(acc) & WMASK; gold_k = g;
                    end
                end
                check_rc(hwsim_dpi_dot(i8, i8, accf, mode, `K, av, bv, BIAS[n] & WMASK, dot, dfl),
                         "dot");
                if (dot != g) begin
                    $display("ERROR library: dot %h != last mac_step %h (element %0d)", dot, g, e);
                    $fatal(1);
                end
                if (first_k >= 0) begin
                    if (bad_i8 == 0)
                        $display("FAIL element %0d (%0d, %0d) step %0d: register after the step dut %h golden %h; final dut %h golden %h",
                                 e, m, n, first_k, dut_k, gold_k, longint'(acc) & WMASK, dot);
                    bad++; bad_i8++;
                end
            end
    endtask

    // FP8 E4M3 x E4M3 -> fp32 rne: dot == step chain == fp32 fma chain, bit for bit
    task automatic run_fp8();
        int f8 = hwsim_dpi_format("float8_e4m3fn");
        int f32 = hwsim_dpi_format("float32");
        longint unsigned gs, gf, z, x64, a32, b32, bias0;
        for (int d = 0; d < `FP8_DOTS; d++) begin
            // a finite fp32 bias of magnitude 2^-17 .. 2^12
            bias0 = (next_rand() & 32'h807FFFFF) | ((32'd110 + next_rand() % 30) << 23);
            gs = bias0;
            gf = bias0;
            for (int k = 0; k < `FP8_K; k++) begin
                av[k] = next_rand() & 8'hFF;
                bv[k] = next_rand() & 8'hFF;
                if ((av[k] & 8'h7F) == 8'h7F) av[k] = av[k] ^ 8'h01;  // no NaN operands
                if ((bv[k] & 8'h7F) == 8'h7F) bv[k] = bv[k] ^ 8'h01;
                check_rc(hwsim_dpi_mac_step(f8, f8, f32, HWSIM_RNE, gs, av[k], bv[k], z, fl),
                         "fp8 mac_step");
                gs = z;
                check_rc(hwsim_dpi_decode(f8, av[k], x64), "decode");
                check_rc(hwsim_dpi_encode_f64(f32, HWSIM_RNE, x64, a32, fl), "encode");
                check_rc(hwsim_dpi_decode(f8, bv[k], x64), "decode");
                check_rc(hwsim_dpi_encode_f64(f32, HWSIM_RNE, x64, b32, fl), "encode");
                check_rc(hwsim_dpi_fma(f32, HWSIM_RNE, a32, b32, gf, z, fl), "fma");
                gf = z;
                if (gs != gf && bad == 0)
                    $display("FAIL fp8 dot %0d step %0d: mac_step %h fma %h", d, k, gs, gf);
                if (gs != gf) bad++;
            end
            check_rc(hwsim_dpi_dot(f8, f8, f32, HWSIM_RNE, `FP8_K, av, bv, bias0, dot, dfl),
                     "fp8 dot");
            if (dot != gs) begin
                $display("FAIL fp8 dot %0d: dot %h != step chain %h", d, dot, gs);
                bad++;
            end
        end
    endtask


    // ---- 3. fp8_mac against hwsim_dpi_mac_step --------------------------------------
    localparam int MAXS = (`FP8_RK > 3) ? `FP8_RK : 3;  // steps of an element
    localparam int MAXE = 32 + `FP8_RAND;               // directed + random elements
    string     cname [MAXE];
    int        clen [MAXE];
    longint unsigned cbias [MAXE];
    int unsigned ca [MAXE][MAXS], cb [MAXE][MAXS];
    int        ncase;

    // the FP8 code of an exactly representable value (stops the bench if it is not)
    function automatic int unsigned f8c(input int fmt, input real v);
        longint unsigned c, back;
        int f;
        check_rc(hwsim_dpi_encode_f64(fmt, HWSIM_RNE, $realtobits(v), c, f), "fp8 encode");
        check_rc(hwsim_dpi_decode(fmt, c, back), "fp8 decode");
        if ($bitstoreal(back) != v) begin
            $display("ERROR directed case: %g is not exact in the FP8 format", v);
            $fatal(1);
        end
        return int'(c);
    endfunction
    function automatic longint unsigned f32c(input real v);  // exact fp32 code
        longint unsigned c;
        int f;
        check_rc(hwsim_dpi_encode_f64(hwsim_dpi_format("float32"), HWSIM_RNE, $realtobits(v),
                                      c, f), "fp32 encode");
        if (f != 0) begin
            $display("ERROR directed case: %g is not exact in float32", v);
            $fatal(1);
        end
        return c;
    endfunction
    // one directed element: up to three steps (n of them) and an fp32 bias code
    task automatic add_case(input string name, input longint unsigned bias, input int n,
                            input int unsigned a0, input int unsigned b0,
                            input int unsigned a1 = 0, input int unsigned b1 = 0,
                            input int unsigned a2 = 0, input int unsigned b2 = 0);
        cname[ncase] = name; cbias[ncase] = bias; clen[ncase] = n;
        ca[ncase][0] = a0; cb[ncase][0] = b0;
        ca[ncase][1] = a1; cb[ncase][1] = b1;
        ca[ncase][2] = a2; cb[ncase][2] = b2;
        ncase++;
    endtask

    // the elements of one operand format: directed cases of gen_fp8.py, then random ones
    task automatic make_fp8_cases(input int u, input int f8);
        int unsigned nan8 = u ? 8'h7E : 8'h7F, inf8 = 8'h7C, mn = 8'h01, s3 = 8'h03;
        longint unsigned pinf = 32'h7F800000, ninf = 32'hFF800000, qnan = 32'h7FC00000;
        real t5 = 2.0 ** -5, t4 = 2.0 ** -4;
        ncase = 0;
        add_case("near-tie above", f32c(2.0 ** 14), 1, f8c(f8, 1.25 * t5), f8c(f8, t5));
        add_case("near-tie below", f32c(2.0 ** 14), 1, f8c(f8, 0.75 * t5), f8c(f8, t5));
        add_case("tie without bias: 2^16 then 2^-8, even LSB stays", f32c(0.0), 2,
                 f8c(f8, 256.0), f8c(f8, 256.0), f8c(f8, t4), f8c(f8, t4));
        add_case("tie, bias 2^14 even LSB: stays", f32c(2.0 ** 14), 1, f8c(f8, t5), f8c(f8, t5));
        add_case("tie, bias 2^14+2^-9 odd LSB: rounds up", f32c(2.0 ** 14 + 2.0 ** -9), 1,
                 f8c(f8, t5), f8c(f8, t5));
        add_case("tie, negative", f32c(-(2.0 ** 14)), 1, f8c(f8, -t5), f8c(f8, t5));
        add_case("tie, 1.5 ulp", f32c(2.0 ** 14), 1, f8c(f8, 1.5 * t5), f8c(f8, t4));
        add_case("tie below a power of two (borrow): 2^16 then -2^-9", f32c(0.0), 2,
                 f8c(f8, 256.0), f8c(f8, 256.0), f8c(f8, -t4), f8c(f8, t5));
        add_case("tie after subtraction (borrow)", f32c(2.0 ** 14 + 2.0 ** -9), 1,
                 f8c(f8, -t5), f8c(f8, t5));
        add_case("cancellation to +0", f32c(0.0), 2, f8c(f8, 3.0), f8c(f8, 5.0),
                 f8c(f8, -3.0), f8c(f8, 5.0));
        add_case("cancellation of the bias to +0", f32c(6.0), 1, f8c(f8, -1.5), f8c(f8, 4.0));
        add_case("-0 bias + -0 product = -0", 32'h80000000, 1, 8'h80, f8c(f8, 1.0));
        add_case("-0 bias + +0 product = +0", 32'h80000000, 1, 8'h00, f8c(f8, 1.0));
        add_case("massive cancellation, exact small rest", f32c(1.0 + 2.0 ** -23), 1,
                 f8c(f8, -1.0), f8c(f8, 1.0));
        add_case("FP8 subnormal x subnormal products", f32c(0.0), 3, mn, mn, mn, mn, s3, mn);
        add_case("binary32 subnormal bias + subnormal product", f32c(2.0 ** -140), 1, mn, mn);
        add_case("binary32 subnormal bias + zero product", 32'h00000003, 1, 8'h00, f8c(f8, 3.0));
        add_case("NaN operand", f32c(0.0), 2, nan8, f8c(f8, 1.0), f8c(f8, 1.0), f8c(f8, 1.0));
        add_case("NaN operand b", f32c(1.0), 1, f8c(f8, 2.0), nan8);
        add_case("Inf bias + finite", pinf, 1, f8c(f8, 2.0), f8c(f8, 3.0));
        add_case("-Inf bias + NaN", ninf, 1, nan8, f8c(f8, 3.0));
        add_case("NaN bias", qnan, 1, f8c(f8, 2.0), f8c(f8, 3.0));
        if (u) begin
            add_case("Inf x 0 = NaN", f32c(0.0), 1, inf8, 8'h00);
            add_case("Inf x -2 = -Inf", f32c(1.0), 1, inf8, f8c(f8, -2.0));
            add_case("Inf - Inf = NaN", f32c(0.0), 2, inf8, f8c(f8, 1.0), inf8, f8c(f8, -1.0));
            add_case("+Inf bias + -Inf product = NaN", pinf, 1, inf8, f8c(f8, -1.0));
        end
        for (int r = 0; r < `FP8_RAND; r++) begin
            cname[ncase] = "random";
            clen[ncase] = `FP8_RK;
            // a finite fp32 bias of magnitude 2^-17 .. 2^12
            cbias[ncase] = (next_rand() & 32'h807FFFFF) | ((32'd110 + next_rand() % 30) << 23);
            for (int k = 0; k < `FP8_RK; k++) begin
                int unsigned x = next_rand() & 8'hFF, y = next_rand() & 8'hFF;
                // no NaN / Inf operands (E4M3: S.1111.111, E5M2: exponent 31)
                if (u ? ((x & 8'h7C) == 8'h7C) : ((x & 8'h7F) == 8'h7F)) x = x ^ 8'h40;
                if (u ? ((y & 8'h7C) == 8'h7C) : ((y & 8'h7F) == 8'h7F)) y = y ^ 8'h40;
                ca[ncase][k] = x; cb[ncase][k] = y;
            end
            ncase++;
        end
    endtask

    task automatic run_fp8_mac(input int u);
        int f8 = hwsim_dpi_format(u ? "float8_e5m2" : "float8_e4m3fn");
        int f32 = hwsim_dpi_format("float32");
        string nm = u ? "E5M2" : "E4M3";
        longint unsigned gb, gz, gprev;
        logic [31:0] dacc;
        make_fp8_cases(u, f8);
        for (int c = 0; c < ncase; c++) begin
            int first_k = -1;
            longint unsigned dut_k = 0, gold_k = 0, bef_k = 0;
            f_init = cbias[c][31:0]; f_load = 1; f_en = 0;
            @(posedge clk); #1 f_load = 0;
            gb = cbias[c];
            for (int k = 0; k < clen[c]; k++) begin
                f_a = ca[c][k][7:0]; f_b = cb[c][k][7:0]; f_en = u ? 2'b10 : 2'b01;
                av[k] = ca[c][k]; bv[k] = cb[c][k];
                @(posedge clk); #1 f_en = 0;
                dacc = u ? f_acc1 : f_acc0;
                gprev = gb;
                check_rc(hwsim_dpi_mac_step(f8, f8, f32, HWSIM_RNE, gb, ca[c][k], cb[c][k],
                                            gz, fl), "fp8_mac mac_step");
                gb = gz;
                steps_f8++;
                if (first_k < 0 && longint'(dacc) != gb) begin
                    first_k = k; dut_k = dacc; gold_k = gb; bef_k = gprev;
                end
            end
            check_rc(hwsim_dpi_dot(f8, f8, f32, HWSIM_RNE, clen[c], av, bv, cbias[c], dot, dfl),
                     "fp8_mac dot");
            if (dot != gb) begin
                $display("ERROR library: fp8 dot %h != last mac_step %h (%s element %0d)",
                         dot, gb, nm, c);
                $fatal(1);
            end
            n_f8++;
            if (first_k >= 0) begin
                if (bad_f8[u] == 0)
                    $display("FAIL fp8_mac %s element %0d step %0d (%s): a %h b %h, register before %h, after the step dut %h golden %h; final dut %h golden %h",
                             nm, c, first_k, cname[c], ca[c][first_k][7:0], cb[c][first_k][7:0],
                             bef_k[31:0], dut_k[31:0], gold_k[31:0], dacc, dot[31:0]);
                bad++; bad_f8[u]++;
            end
        end
    endtask

    // ---- 4. mac_tile against hwsim_dpi_mac_step, PE by PE ------------------------------
    localparam longint unsigned TMASK = (64'd1 << `TW) - 1;
    longint unsigned tg [`TP][`TQ];
    int tfirst [`TP][`TQ];
    task automatic run_tile();
        int t8 = hwsim_dpi_format("int8");
        int tacc = hwsim_dpi_int_format(`TW, 1);
        int unsigned ta [`TP], tb [`TQ];
        longint unsigned z, got;
        logic [`TQ*`TW-1:0] vi;
        logic [`TP*8-1:0] va;
        logic [`TQ*8-1:0] vb;
        for (int q = 0; q < `TQ; q++) begin
            int unsigned bias = (next_rand() % (1 << (`TW - 2))) - (1 << (`TW - 3));
            vi[q*`TW +: `TW] = bias[`TW-1:0];
            for (int p = 0; p < `TP; p++) begin
                tg[p][q] = bias & TMASK; tfirst[p][q] = -1;
            end
        end
        t_init = vi;  // whole-vector writes only, see f_en
        t_load = 1; t_en = 0;
        @(posedge clk); #1 t_load = 0;
        for (int k = 0; k < `TK; k++) begin
            for (int p = 0; p < `TP; p++) begin ta[p] = next_rand() & 8'hFF; va[p*8 +: 8] = ta[p][7:0]; end
            for (int q = 0; q < `TQ; q++) begin tb[q] = next_rand() & 8'hFF; vb[q*8 +: 8] = tb[q][7:0]; end
            t_a = va; t_b = vb; t_en = 1;
            @(posedge clk); #1 t_en = 0;
            for (int p = 0; p < `TP; p++)
                for (int q = 0; q < `TQ; q++) begin
                    check_rc(hwsim_dpi_mac_step(t8, t8, tacc, HWSIM_SATURATE, tg[p][q], ta[p],
                                                tb[q], z, fl), "mac_tile mac_step");
                    tg[p][q] = z;
                    got = longint'(t_acc[(p*`TQ + q)*`TW +: `TW]) & TMASK;
                    steps_tile++;
                    if (tfirst[p][q] < 0 && got != z) begin
                        tfirst[p][q] = k;
                        if (bad_tile == 0)
                            $display("FAIL mac_tile element %0d PE (%0d, %0d) step %0d: a %h b %h, register after the step dut %h golden %h",
                                     p*`TQ + q, p, q, k, ta[p][7:0], tb[q][7:0], got, z);
                        bad++; bad_tile++;
                    end
                end
        end
    endtask

    initial begin
        bad = 0; bad_i8 = 0; bad_f8[0] = 0; bad_f8[1] = 0; bad_tile = 0;
        n_f8 = 0; steps_f8 = 0; steps_tile = 0;
        run_int8();
        run_fp8();
        run_fp8_mac(0);
        run_fp8_mac(1);
        run_tile();
        if (bad == 0)
            $display("PASS: int8_mac %0d outputs, %0d MAC steps match hwsim (W=%0d SAT=%0d); %0d FP8 E4M3 dot products (k=%0d) into fp32 agree three ways; fp8_mac E4M3 + E5M2 %0d elements, %0d MAC steps (fp32 rne, exact ties included) match hwsim; mac_tile %0dx%0d %0d MAC steps match hwsim (W=%0d)",
                     `M * `N, `M * `N * `K, `W, `SAT, `FP8_DOTS, `FP8_K, n_f8, steps_f8,
                     `TP, `TQ, steps_tile, `TW);
        else
            $display("MISMATCHES: int8_mac %0d outputs, fp8_mac E4M3 %0d / E5M2 %0d elements, mac_tile %0d PEs; %0d in all",
                     bad_i8, bad_f8[0], bad_f8[1], bad_tile, bad);
        $finish;
    end
endmodule
