"""Helpers shared by several test modules."""
import numpy as np


def mx_corr1d(x, kernel, bias=0.0):
    """Reference through mx.nd.Convolution for channels-last x (T, C) and kernel (w, C, M)."""
    import mxnet as mx

    x = np.asarray(x, np.float32)
    k = np.asarray(kernel, np.float32)
    out = mx.nd.Convolution(
        data=mx.nd.array(x.T[np.newaxis]),                                    # (1, C, T)
        weight=mx.nd.array(k.transpose(2, 1, 0)),                             # (M, C, w)
        bias=mx.nd.array(np.broadcast_to(np.float32(bias), (k.shape[2],))),
        kernel=(k.shape[0],), num_filter=k.shape[2])
    return out.asnumpy()[0].T                                                 # (T', M)


def seeded_crepe(seed=0, num_classes=4, **kwargs):
    """A freshly initialised Crepe whose weights depend only on ``seed``."""
    import mxnet as mx

    from crepe.model import Crepe

    mx.random.seed(seed)
    net = Crepe(num_classes, **kwargs)
    net.initialize()
    return net
