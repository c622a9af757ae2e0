// Output-stationary int8 MAC-array tile: P x Q processing elements, each an int8_mac
// (int8 x int8 into a W-bit saturating (SAT = 1) or wrapping register).
// Row p holds one output pixel, column q one output channel: every enabled clock, input
// a[p] is broadcast along row p, weight b[q] down column q, and PE (p, q) does
// acc(p, q) <= acc(p, q) + a[p] * b[q].  `load` puts the bias of column q into every PE
// of that column.  A conv layer runs as tiles of P pixels x Q channels, K = Cin*kH*kW
// steps each (the bench sequences them, see tb_mac_tile.v).
// hwsim model: the conv layer's MacUnit("int8", "int8", accumulator=IntAccumulator(W, ...)),
// one PE per output, reduction in the layer's order.
// `define INJECT_BUG: the last row drops the sign bit of its input (a signedness slip):
// PE (P-1, q) goes wrong at the first negative input met with a nonzero weight.
// (The same define also plants int8_mac's bug, which only shows on negative saturation.)
module mac_tile #(
    parameter P   = 2,
    parameter Q   = 2,
    parameter W   = 20,
    parameter SAT = 1
) (
    input  wire             clk,
    input  wire             load,
    input  wire [Q*W-1:0]   init,    // bias of column q at [q*W +: W]
    input  wire             en,
    input  wire [P*8-1:0]   a,       // input of row p at [p*8 +: 8]
    input  wire [Q*8-1:0]   b,       // weight of column q at [q*8 +: 8]
    output wire [P*Q*W-1:0] acc      // PE (p, q) at [(p*Q + q)*W +: W]
);
    genvar p, q;
    generate
        for (p = 0; p < P; p = p + 1) begin : row
            wire [7:0] a_row;
`ifdef INJECT_BUG
            // planted bug: the last row loses the sign of its input
            assign a_row = (p == P - 1 && a[p*8 + 7]) ? {1'b0, a[p*8 +: 7]} : a[p*8 +: 8];
`else
            assign a_row = a[p*8 +: 8];
`endif
            for (q = 0; q < Q; q = q + 1) begin : col
                int8_mac #(.W(W), .SAT(SAT)) pe (
                    .clk(clk), .load(load), .init(init[q*W +: W]), .en(en),
                    .a(a_row), .b(b[q*8 +: 8]), .acc(acc[(p*Q + q)*W +: W]));
            end
        end
    endgenerate
endmodule
