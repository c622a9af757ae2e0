// Self-checking $readmemh bench for fp8_mac: runs from the golden layer folder written
// by gen_fp8.py (input.hex [M, K] FP8 codes, weight.hex [K, N], bias.hex [N] float32
// codes, acc.hex [M, N] float32 codes, steps.hex [M, N, K] = the register after every
// MAC step).  Prints "PASS ..." or "FAIL element <i> (m, n) step <k>: ..." for the first
// output with a differing MAC step (fields of both registers), then a mismatch count.
// Writes the DUT's registers to dut_acc.hex [M, N] and dut_steps.hex [M*N, K] (for
// `hwsim compare --trace-first`).
`include "params.vh"
module tb_fp8_mac;
    reg clk = 0;
    reg load = 0, en = 0;
    reg [31:0] init;
    reg [7:0] a, b;
    wire [31:0] acc;
    reg [7:0]  A    [0:`M*`K-1];
    reg [7:0]  B    [0:`K*`N-1];
    reg [31:0] BIAS [0:`N-1];
    reg [31:0] GOLD [0:`M*`N-1];
    reg [31:0] STEP [0:`M*`N*`K-1];
    reg [31:0] DUMP [0:`M*`N-1];
    reg [31:0] DSTEP [0:`M*`N*`K-1];
    integer m, n, k, bad, first_k;
    reg [31:0] dut_k, gold_k;
    reg [7:0]  a_k, b_k;

    fp8_mac #(.E5M2(`E5M2)) dut (.clk(clk), .load(load), .init(init), .en(en),
                                 .a(a), .b(b), .acc(acc));
    always #5 clk = ~clk;

    initial begin
        $readmemh("input.hex", A);
        $readmemh("weight.hex", B);
        $readmemh("bias.hex", BIAS);
        $readmemh("acc.hex", GOLD);
        $readmemh("steps.hex", STEP);
        bad = 0;
        for (m = 0; m < `M; m = m + 1)
            for (n = 0; n < `N; n = n + 1) begin
                init = BIAS[n]; load = 1; en = 0;
                @(posedge clk); #1 load = 0;
                first_k = -1;
                for (k = 0; k < `K; k = k + 1) begin
                    a = A[m*`K + k]; b = B[k*`N + n]; en = 1;
                    @(posedge clk); #1 en = 0;
                    DSTEP[(m*`N + n)*`K + k] = acc;
                    if (first_k < 0 && acc !== STEP[(m*`N + n)*`K + k]) begin
                        first_k = k; dut_k = acc; gold_k = STEP[(m*`N + n)*`K + k];
                        a_k = a; b_k = b;
                    end
                end
                DUMP[m*`N + n] = acc;
                if (first_k >= 0 || acc !== GOLD[m*`N + n]) begin
                    if (bad == 0) begin
                        $display("FAIL element %0d (%0d, %0d) step %0d: a %h b %h, register after the step dut %h golden %h; final dut %h golden %h",
                                 m*`N + n, m, n, first_k, a_k, b_k, dut_k, gold_k, acc, GOLD[m*`N + n]);
                        $display("  dut    sign %b exponent %h fraction %h", dut_k[31], dut_k[30:23], dut_k[22:0]);
                        $display("  golden sign %b exponent %h fraction %h (distance %0d ULP by code order)",
                                 gold_k[31], gold_k[30:23], gold_k[22:0],
                                 $signed({1'b0, dut_k[30:0]}) - $signed({1'b0, gold_k[30:0]}));
                    end
                    bad = bad + 1;
                end
            end
        $writememh("dut_acc.hex", DUMP);
        $writememh("dut_steps.hex", DSTEP);
        if (bad == 0) $display("PASS: %0d outputs, %0d MAC steps match hwsim", `M*`N, `M*`N*`K);
        else $display("MISMATCHES: %0d of %0d outputs differ in some MAC step", bad, `M*`N);
        $finish;
    end
endmodule
