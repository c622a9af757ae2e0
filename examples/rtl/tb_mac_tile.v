// Self-checking $readmemh bench for mac_tile running a conv layer exported by hwsim.
// Runs from the layer folder written by gen_tile.py: input.hex [1, CIN, H, W] int8,
// weight.hex [COUT, CIN, KH, KW] int8, bias.hex [COUT] (BW-bit register codes),
// acc.hex [1, COUT, HO, WO] (W-bit), steps.hex [COUT*HO*WO, K] (the register of every
// output after every MAC step) and kmap.hex [K] = {ci, kh, kw} of reduction step k (one
// byte each, taken from the trace's conv coordinates: the layer's reduction order).
// The bench is the tile's sequencer: pixel tiles of P outputs (row-major oy, ox), channel
// tiles of Q, K steps each; padding taps feed 0 (the input zero point).
// Prints "PASS ..." or, for the first differing MAC step,
// "FAIL element <i> (n, co, oy, ox) step <k> (ci, kh, kw, iy, ix): ...".
// Writes the DUT's registers to dut_acc.hex (acc order) and dut_steps.hex [outputs, K]
// (for `hwsim compare --trace-first`).
`include "params.vh"
module tb_mac_tile;
    localparam P = `P, Q = `Q, W = `W, K = `CIN*`KH*`KW;
    localparam NPIX = `HO*`WO;
    reg clk = 0;
    reg load = 0, en = 0;
    reg  [Q*W-1:0]   init;
    reg  [P*8-1:0]   a;
    reg  [Q*8-1:0]   b;
    wire [P*Q*W-1:0] acc;
    reg [7:0]     X    [0:`CIN*`H*`WI-1];
    reg [7:0]     WT   [0:`COUT*K-1];
    reg [`BW-1:0] BIAS [0:`COUT-1];
    reg [W-1:0]   GOLD [0:`COUT*NPIX-1];
    reg [W-1:0]   STEP [0:`COUT*NPIX*K-1];
    reg [23:0]    KMAP [0:K-1];
    reg [W-1:0]   DUMP [0:`COUT*NPIX-1];
    reg [W-1:0]   DSTEP [0:`COUT*NPIX*K-1];
    integer pt, qt, p, q, k, pix, co, oy, ox, ci, kh, kw, iy, ix, idx, bad, steps;
    reg [W-1:0] got, want;

    mac_tile #(.P(P), .Q(Q), .W(W), .SAT(`SAT)) dut (.clk(clk), .load(load), .init(init),
        .en(en), .a(a), .b(b), .acc(acc));
    always #5 clk = ~clk;

    initial begin
        $readmemh("input.hex", X);
        $readmemh("weight.hex", WT);
        $readmemh("bias.hex", BIAS);
        $readmemh("acc.hex", GOLD);
        $readmemh("steps.hex", STEP);
        $readmemh("kmap.hex", KMAP);
        bad = 0; steps = 0;
        for (pt = 0; pt < NPIX; pt = pt + P)
            for (qt = 0; qt < `COUT; qt = qt + Q) begin
                for (q = 0; q < Q; q = q + 1)
                    init[q*W +: W] = BIAS[qt + q];   // low W bits of the bias register
                load = 1; en = 0;
                @(posedge clk); #1 load = 0;
                for (k = 0; k < K; k = k + 1) begin
                    ci = KMAP[k][23:16]; kh = KMAP[k][15:8]; kw = KMAP[k][7:0];
                    for (p = 0; p < P; p = p + 1) begin
                        oy = (pt + p) / `WO; ox = (pt + p) % `WO;
                        iy = oy * `STRIDE - `PAD + kh; ix = ox * `STRIDE - `PAD + kw;
                        if (iy < 0 || iy >= `H || ix < 0 || ix >= `WI) a[p*8 +: 8] = 8'd0;
                        else a[p*8 +: 8] = X[(ci*`H + iy)*`WI + ix];
                    end
                    for (q = 0; q < Q; q = q + 1)
                        b[q*8 +: 8] = WT[(qt + q)*K + (ci*`KH + kh)*`KW + kw];
                    en = 1;
                    @(posedge clk); #1 en = 0;
                    for (p = 0; p < P; p = p + 1)
                        for (q = 0; q < Q; q = q + 1) begin
                            pix = pt + p; co = qt + q;
                            idx = co*NPIX + pix;
                            got = acc[(p*Q + q)*W +: W]; want = STEP[idx*K + k];
                            steps = steps + 1;
                            DSTEP[idx*K + k] = got;
                            if (got !== want) begin
                                if (bad == 0) begin
                                    oy = pix / `WO; ox = pix % `WO;
                                    $display("FAIL element %0d (0, %0d, %0d, %0d) step %0d (ci %0d, kh %0d, kw %0d, iy %0d, ix %0d): PE (%0d, %0d) a %h b %h, register after the step dut %h golden %h (%0d vs %0d)",
                                             idx, co, oy, ox, k, ci, kh, kw,
                                             oy * `STRIDE - `PAD + kh, ox * `STRIDE - `PAD + kw,
                                             p, q, a[p*8 +: 8], b[q*8 +: 8], got, want,
                                             $signed(got), $signed(want));
                                end
                                bad = bad + 1;
                            end
                            if (k == K - 1) DUMP[idx] = got;
                        end
                end
            end
        $writememh("dut_acc.hex", DUMP);
        $writememh("dut_steps.hex", DSTEP);
        if (bad == 0) $display("PASS: %0d outputs, %0d MAC steps match hwsim", `COUT*NPIX, steps);
        else $display("MISMATCHES: %0d of %0d MAC steps differ", bad, steps);
        $finish;
    end
endmodule
