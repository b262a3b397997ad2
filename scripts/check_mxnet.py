"""Does this MXNet compute? One line, exit 0 if a 1-D convolution (forward and backward) and a matrix
product agree with numpy.

    python scripts/check_mxnet.py

The container images run it while they build: on arm64 MXNet's BLAS and LAPACK come through a stand-in
for Arm Performance Libraries (scripts/armpl-standin.sh), and a wrong link shows here, not in a lesson.
"""
import sys

import numpy as np

#: The largest difference from numpy that float32 arithmetic explains.
TOLERANCE = 1e-4


def differences():
    """Largest absolute differences between MXNet and numpy: (convolution, its weight gradient, matrix product).

    The gradient is of ``sum(conv(x, w) * g)`` with respect to ``w``: ``sum over n, t of g[n, o, t] * x[n, c, t + k]``.
    """
    import mxnet as mx

    rng = np.random.RandomState(0)
    x, w = rng.rand(2, 3, 20).astype("f4"), rng.rand(4, 3, 5).astype("f4")         # (N, C, W), (O, C, K)
    g = rng.rand(2, 4, 16).astype("f4")                                              # (N, O, W - K + 1)
    weight = mx.nd.array(w)
    weight.attach_grad()
    with mx.autograd.record():
        conv = mx.nd.Convolution(mx.nd.array(x), weight, kernel=(5,), num_filter=4, no_bias=True)
        loss = (conv * mx.nd.array(g)).sum()
    loss.backward()
    expected = np.stack([[sum(np.correlate(x[n, c], w[o, c], "valid") for c in range(3)) for o in range(4)]
                         for n in range(2)])                                         # (N, O, W - K + 1)
    gradient = np.stack([[sum(np.correlate(x[n, c], g[n, o], "valid") for n in range(2)) for c in range(3)]
                         for o in range(4)])                                         # (O, C, K)
    a = rng.rand(16, 16).astype("f4")
    product = mx.nd.dot(mx.nd.array(a), mx.nd.array(a)).asnumpy()
    return (float(abs(conv.asnumpy() - expected).max()), float(abs(weight.grad.asnumpy() - gradient).max()),
            float(abs(product - a @ a).max()))


if __name__ == "__main__":
    conv, gradient, product = differences()
    good = max(conv, gradient, product) < TOLERANCE
    print(f"MXNet against numpy: convolution {conv:.1e}, its gradient {gradient:.1e}, matrix product {product:.1e}: "
          f"{'ok' if good else 'WRONG'}")
    sys.exit(0 if good else 1)
