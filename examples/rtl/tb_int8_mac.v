// Self-checking $readmemh bench for int8_mac: runs from the golden layer folder
// written by gen_int8.py (input.hex [M, K], weight.hex [K, N], bias.hex [N],
// acc.hex [M, N], steps.hex [M, N, K] = the register after every MAC step).
// Prints "PASS" or "FAIL element <i> (m, n) step <k>: dut <x> golden <y>" for the
// first differing output and MAC step, and a mismatch count.  Writes the DUT's registers
// to dut_acc.hex [M, N] and dut_steps.hex [M*N, K] (for `hwsim compare --trace-first`).
`include "params.vh"
module tb_int8_mac;
    reg clk = 0;
    reg load = 0, en = 0;
    reg signed [`W-1:0] init;
    reg signed [7:0] a, b;
    wire signed [`W-1:0] acc;
    reg [7:0]    A    [0:`M*`K-1];
    reg [7:0]    B    [0:`K*`N-1];
    reg [`W-1:0] BIAS [0:`N-1];
    reg [`W-1:0] GOLD [0:`M*`N-1];
    reg [`W-1:0] STEP [0:`M*`N*`K-1];
    integer m, n, k, bad, first_k;
    reg [`W-1:0] dut_k, gold_k;
    reg [`W-1:0] DUMP [0:`M*`N-1];
    reg [`W-1:0] DSTEP [0:`M*`N*`K-1];

    int8_mac #(.W(`W), .SAT(`SAT)) dut (.clk(clk), .load(load), .init(init), .en(en),
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
                    end
                end
                DUMP[m*`N + n] = acc;
                if (first_k >= 0 || acc !== GOLD[m*`N + n]) begin
                    if (bad == 0)
                        $display("FAIL element %0d (%0d, %0d) step %0d: register after the step dut %h golden %h; final dut %h golden %h",
                                 m*`N + n, m, n, first_k, dut_k, gold_k, acc, GOLD[m*`N + n]);
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
