// int8 x int8 multiply-accumulate into a W-bit two's complement register.
// SAT = 1: the register saturates to [-2^(W-1), 2^(W-1)-1] after every add;
// SAT = 0: it wraps modulo 2^W.  hwsim model: MacUnit("int8", "int8",
// accumulator=IntAccumulator(W, overflow="saturate" | "wrap")), bias at init.
// `define INJECT_BUG: negative overflow wraps instead of saturating (a planted bug).
module int8_mac #(
    parameter W   = 20,
    parameter SAT = 1
) (
    input  wire                clk,
    input  wire                load,   // acc <= init
    input  wire signed [W-1:0] init,
    input  wire                en,     // acc <= acc + a * b
    input  wire signed [7:0]   a,
    input  wire signed [7:0]   b,
    output reg  signed [W-1:0] acc
);
    wire signed [15:0]  p   = a * b;
    wire signed [W+16:0] sum = $signed(acc) + $signed(p);   // exact: W+17 bits
    localparam signed [W+16:0] MAXV = (1 <<< (W - 1)) - 1;
    localparam signed [W+16:0] MINV = -(1 <<< (W - 1));
    reg signed [W-1:0] next;
    always @* begin
        if (SAT && sum > MAXV)
            next = MAXV[W-1:0];
`ifdef INJECT_BUG
        else
            next = sum[W-1:0];
`else
        else if (SAT && sum < MINV)
            next = MINV[W-1:0];
        else
            next = sum[W-1:0];
`endif
    end
    always @(posedge clk) begin
        if (load)
            acc <= init;
        else if (en)
            acc <= next;
    end
endmodule
