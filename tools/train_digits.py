"""Train the demo CNN on scikit-learn's digits (8x8) in plain numpy; write it as ONNX.

The data set ships inside scikit-learn (nothing is downloaded).  The model:

    x [N,1,8,8] -> Conv 8x3x3 pad 1 -> Relu -> MaxPool 2 -> Conv 16x3x3 pad 1 -> Relu
      -> MaxPool 2 -> Flatten (64) -> Gemm 64x10

trained with hand-written backprop (im2col convolutions), softmax cross-entropy,
Adam, a few epochs.  Split: a seeded permutation, the first 70 % train, the rest
test (:func:`split` is what ``hwsim demo`` uses).

Usage: ``python tools/train_digits.py [--out hwsim/data/digits_cnn.onnx] [--epochs 12]``
"""
from __future__ import annotations

import argparse

import numpy as np


def load_digits_data():
    from sklearn.datasets import load_digits

    d = load_digits()
    x = (d.images.astype(np.float32) / 16.0)[:, None, :, :]
    return x, d.target.astype(np.int64)


def split(n, seed=0, frac=0.7):
    perm = np.random.default_rng(seed).permutation(n)
    k = int(round(frac * n))
    return perm[:k], perm[k:]


def im2col(x, k=3, pad=1):
    N, C, H, W = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    cols = np.empty((N, H, W, C, k, k), x.dtype)
    for i in range(k):
        for j in range(k):
            cols[:, :, :, :, i, j] = xp[:, :, i:i + H, j:j + W].transpose(0, 2, 3, 1)
    return cols.reshape(N * H * W, C * k * k)


def col2im(dcols, shape, k=3, pad=1):
    N, C, H, W = shape
    d = dcols.reshape(N, H, W, C, k, k)
    dxp = np.zeros((N, C, H + 2 * pad, W + 2 * pad), dcols.dtype)
    for i in range(k):
        for j in range(k):
            dxp[:, :, i:i + H, j:j + W] += d[:, :, :, :, i, j].transpose(0, 3, 1, 2)
    return dxp[:, :, pad:pad + H, pad:pad + W]


def conv_fwd(x, w, b):
    N, C, H, W = x.shape
    cols = im2col(x)
    y = cols @ w.reshape(w.shape[0], -1).T + b
    return y.reshape(N, H, W, -1).transpose(0, 3, 1, 2), cols


def conv_bwd(dy, cols, x_shape, w):
    N, Co, H, W = dy.shape
    d2 = dy.transpose(0, 2, 3, 1).reshape(-1, Co)
    dw = (d2.T @ cols).reshape(w.shape)
    db = d2.sum(0)
    dx = col2im(d2 @ w.reshape(Co, -1), x_shape)
    return dx, dw, db


def pool_fwd(x):
    N, C, H, W = x.shape
    r = x.reshape(N, C, H // 2, 2, W // 2, 2)
    m = r.max(axis=(3, 5))
    mask = (r == m[:, :, :, None, :, None])
    return m, mask


def pool_bwd(dm, mask):
    return (mask * dm[:, :, :, None, :, None]).reshape(mask.shape[0], mask.shape[1],
                                                       mask.shape[2] * 2, mask.shape[4] * 2)


def init_params(rng):
    he = lambda shape, fan: rng.normal(0, np.sqrt(2.0 / fan), shape).astype(np.float32)  # noqa: E731
    return dict(w1=he((8, 1, 3, 3), 9), b1=np.zeros(8, np.float32),
                w2=he((16, 8, 3, 3), 72), b2=np.zeros(16, np.float32),
                w3=he((64, 10), 64), b3=np.zeros(10, np.float32))


def forward(p, x, cache=False):
    c1, cols1 = conv_fwd(x, p["w1"], p["b1"])
    r1 = np.maximum(c1, 0)
    p1, m1 = pool_fwd(r1)
    c2, cols2 = conv_fwd(p1, p["w2"], p["b2"])
    r2 = np.maximum(c2, 0)
    p2, m2 = pool_fwd(r2)
    f = p2.reshape(p2.shape[0], -1)
    logits = f @ p["w3"] + p["b3"]
    if not cache:
        return logits
    return logits, (x, c1, cols1, p1, m1, c2, cols2, m2, f, p2.shape)


def backward(p, cache, dlogits):
    x, c1, cols1, p1, m1, c2, cols2, m2, f, p2s = cache
    g = {"w3": f.T @ dlogits, "b3": dlogits.sum(0)}
    dp2 = (dlogits @ p["w3"].T).reshape(p2s)
    dr2 = pool_bwd(dp2, m2) * (c2 > 0)
    dp1, g["w2"], g["b2"] = conv_bwd(dr2, cols2, p1.shape, p["w2"])
    dr1 = pool_bwd(dp1, m1) * (c1 > 0)
    _, g["w1"], g["b1"] = conv_bwd(dr1, cols1, x.shape, p["w1"])
    return g


def train(epochs=12, seed=0, batch=32, lr=3e-3, verbose=True):
    x, y = load_digits_data()
    tr, te = split(len(x))
    rng = np.random.default_rng(seed)
    p = init_params(rng)
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(v) for k, v in p.items()}
    t = 0
    for ep in range(epochs):
        order = rng.permutation(tr)
        for i in range(0, len(order), batch):
            idx = order[i:i + batch]
            logits, cache = forward(p, x[idx], cache=True)
            z = logits - logits.max(1, keepdims=True)
            prob = np.exp(z) / np.exp(z).sum(1, keepdims=True)
            prob[np.arange(len(idx)), y[idx]] -= 1
            g = backward(p, cache, prob / len(idx))
            t += 1
            for k in p:
                m[k] = 0.9 * m[k] + 0.1 * g[k]
                v[k] = 0.999 * v[k] + 0.001 * g[k] ** 2
                p[k] -= (lr * (m[k] / (1 - 0.9 ** t)) / (np.sqrt(v[k] / (1 - 0.999 ** t)) + 1e-8)).astype(np.float32)
        if verbose:
            acc = (forward(p, x[te]).argmax(1) == y[te]).mean()
            print(f"epoch {ep + 1}: test accuracy {acc:.4f}")
    return p


def to_onnx(p, path):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        helper.make_node("MaxPool", ["r1"], ["p1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "w2", "b2"], ["c2"], name="conv2", pads=[1, 1, 1, 1], kernel_shape=[3, 3]),
        helper.make_node("Relu", ["c2"], ["r2"], name="relu2"),
        helper.make_node("MaxPool", ["r2"], ["p2"], name="pool2", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p2"], ["f"], name="flatten"),
        helper.make_node("Gemm", ["f", "w3", "b3"], ["logits"], name="fc"),
    ]
    inits = [numpy_helper.from_array(np.asarray(p[k], np.float32), k) for k in ("w1", "b1", "w2", "b2", "w3", "b3")]
    g = helper.make_graph(nodes, "digits_cnn",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 8, 8])],
                          [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 10])], inits)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="hwsim tools/train_digits.py")
    m.ir_version = 8
    onnx.checker.check_model(m)
    onnx.save(m, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="hwsim/data/digits_cnn.onnx")
    ap.add_argument("--epochs", type=int, default=12)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    p = train(a.epochs, a.seed)
    to_onnx(p, a.out)
    print(f"wrote {a.out}")


if __name__ == "__main__":
    main()
