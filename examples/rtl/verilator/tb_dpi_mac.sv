// A bench for Verilator with hwsim as the golden model through DPI-C (no Python, no files):
//  1. int8_mac (../int8_mac.v) with a W-bit register: every output of an M x N x K
//     int8 matmul is run on the DUT; after every MAC step the DUT register is checked
//     against hwsim_dpi_mac_step, and the final register against hwsim_dpi_dot.
//     Prints "FAIL element <i> (<m>, <n>) step <k>: ..." for the first wrong step.
//  2. FP8 E4M3 (OCP, float8_e4m3fn) x E4M3 dot products into an fp32 register, rne:
//     golden values from hwsim_dpi_dot, checked step by step against hwsim_dpi_mac_step
//     and against the IEEE fp32 fma (hwsim_dpi_fma on operands converted exactly with
//     hwsim_dpi_decode + hwsim_dpi_encode_f64): a self-check of the library that an
//     FP8 MAC DUT bench would use as its reference.
// Operands come from a seeded xorshift32, so every run is the same.  Macros (-D):
// W (register bits), SAT (1 saturate, 0 wrap), M, N, K, FP8_DOTS, FP8_K, SEED,
// INJECT_BUG (planted in int8_mac.v).  Ends with "PASS" or "FAIL ...".
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
                    if (bad == 0)
                        $display("FAIL element %0d (%0d, %0d) step %0d: register after the step dut %h golden %h; final dut %h golden %h",
                                 e, m, n, first_k, dut_k, gold_k, longint'(acc) & WMASK, dot);
                    bad++;
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

    initial begin
        bad = 0;
        run_int8();
        run_fp8();
        if (bad == 0)
            $display("PASS: int8_mac %0d outputs, %0d MAC steps match hwsim (W=%0d SAT=%0d); %0d FP8 E4M3 dot products (k=%0d) into fp32 agree three ways",
                     `M * `N, `M * `N * `K, `W, `SAT, `FP8_DOTS, `FP8_K);
        else
            $display("MISMATCHES: %0d", bad);
        $finish;
    end
endmodule
