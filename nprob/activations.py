"""Activations, each as its forward, its backward and the two slopes a double backward needs, side by side.

Each ``*_forward(x)`` returns (y, cache); each ``*_backward(dy, cache)`` returns dx; each ``*_slopes(cache)``
returns sigma'(a) and sigma''(a) from the same cache (the gradient penalty's tangent pass, derivations/13).
"""
from __future__ import annotations

from . import backend
from .stable import sigmoid as _sigmoid
from .stable import softplus as _softplus


def identity_forward(x):
    return x, None


def identity_backward(dy, cache):
    return dy


def relu_forward(x):
    """y = max(x, 0)."""
    y = backend.get_array_module(x).maximum(x, 0)
    return y, y


def relu_backward(dy, y):
    """dx = dy where the unit was active (y > 0); the kink at 0 gets slope 0."""
    return dy * (y > 0)


def relu_slopes(y):
    """sigma'(a) and sigma''(a) from the cache y = max(a, 0): 1[y > 0] and 0 (the kink gets 0)."""
    return (y > 0).astype(y.dtype), backend.get_array_module(y).zeros_like(y)


LEAKY_SLOPE = 0.2


def leaky_relu_forward(x):
    """y = x for x > 0, LEAKY_SLOPE * x otherwise: max(x, LEAKY_SLOPE x), since the slope is below 1.

    (``max`` rather than ``where``: NumPy's ``where`` on an unpredictable mask is
    several times slower than an arithmetic ufunc.)
    """
    xp = backend.get_array_module(x)
    return xp.maximum(x, x * x.dtype.type(LEAKY_SLOPE)), x


def leaky_relu_backward(dy, x):
    """dx = dy * slope, the slope being 1 where x > 0 and LEAKY_SLOPE elsewhere."""
    xp = backend.get_array_module(dy)
    return dy * xp.maximum(x > 0, dy.dtype.type(LEAKY_SLOPE))


def leaky_relu_slopes(x):
    """sigma'(a) and sigma''(a) from the cache a: 1 or LEAKY_SLOPE, and 0."""
    xp = backend.get_array_module(x)
    return xp.maximum(x > 0, x.dtype.type(LEAKY_SLOPE)), xp.zeros_like(x)


def tanh_forward(x):
    y = backend.get_array_module(x).tanh(x)
    return y, y


def tanh_backward(dy, y):
    """d tanh(x)/dx = 1 - tanh(x)^2."""
    return dy * (1 - y * y)


def tanh_slopes(y):
    """sigma'(a) = 1 - y^2 and sigma''(a) = -2 y (1 - y^2) from the cache y = tanh(a)."""
    d1 = y.dtype.type(1) - y * y
    return d1, -2 * y * d1


def sigmoid_forward(x):
    y = _sigmoid(x)
    return y, y


def sigmoid_backward(dy, y):
    """d sigmoid(x)/dx = sigmoid(x) (1 - sigmoid(x))."""
    return dy * y * (1 - y)


def sigmoid_slopes(y):
    """sigma'(a) = y (1 - y) and sigma''(a) = y (1 - y)(1 - 2y) from the cache y = sigmoid(a)."""
    one = y.dtype.type(1)
    d1 = y * (one - y)
    return d1, d1 * (one - 2 * y)


def softplus_forward(x):
    return _softplus(x), x


def softplus_backward(dy, x):
    """d softplus(x)/dx = sigmoid(x)."""
    return dy * _sigmoid(x)


def softplus_slopes(x):
    """sigma'(a) = sigmoid(a) and sigma''(a) = sigmoid(a)(1 - sigmoid(a)) from the cache a."""
    s = _sigmoid(x)
    return s, s * (x.dtype.type(1) - s)


SLOPES = {"relu": relu_slopes, "leaky_relu": leaky_relu_slopes, "tanh": tanh_slopes, "sigmoid": sigmoid_slopes,
          "softplus": softplus_slopes}


def slopes(name: str, cache):
    """sigma'(a) and sigma''(a) of a hidden activation from what its forward pass cached (y or a), for a
    double backward (derivations/13 eq. (13.7))."""
    if name not in SLOPES:
        raise ValueError(f"no second derivative for activation {name!r}")
    return SLOPES[name](cache)


ACTIVATIONS = {
    "identity": (identity_forward, identity_backward),
    "relu": (relu_forward, relu_backward),
    "leaky_relu": (leaky_relu_forward, leaky_relu_backward),
    "tanh": (tanh_forward, tanh_backward),
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "softplus": (softplus_forward, softplus_backward),
}
