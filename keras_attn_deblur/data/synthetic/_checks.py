"""Argument checks and conversions shared by the synthetic-blur modules (NumPy only).

Each raises the package's one-line `ValueError("`name` must be ... Received:
name=value")`. The general checks (`is_integer`, `check_probability`,
`check_positive_int`) are in `keras_attn_deblur._utils.validation`; these are
the ones particular to images, kernels and random draws.
"""

import numbers

import numpy as np

from keras_attn_deblur._utils.validation import is_integer


def as_generator(rng):
    """`rng` (a Generator, an int seed or None) as a `numpy.random.Generator`."""
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or is_integer(rng):
        return np.random.default_rng(rng)
    raise ValueError(
        "`rng` must be a numpy.random.Generator, an integer seed or None. "
        f"Received: rng={rng!r}"
    )


def as_image(image):
    """An `(H, W)` or `(H, W, C)` image as a float32 array."""
    image = np.asarray(image)
    if image.ndim not in (2, 3):
        raise ValueError(
            "`image` must have shape (H, W) or (H, W, C). "
            f"Received: image with shape {image.shape}"
        )
    return image.astype("float32", copy=False)


def as_float(image):
    """Any array as float32 (no copy when it already is)."""
    return np.asarray(image).astype("float32", copy=False)


def check_odd_size(name, value, minimum):
    """Raises unless `value` is an odd integer >= `minimum` (a kernel size)."""
    if not is_integer(value) or value < minimum or value % 2 == 0:
        raise ValueError(
            f"`{name}` must be an odd integer >= {minimum}. Received: {name}={value!r}"
        )


def check_number(name, value, minimum=None, maximum=None, inclusive=True):
    """Raises unless `value` is a finite number within the bounds."""
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or not np.isfinite(value)
    ):
        raise ValueError(
            f"`{name}` must be a finite number. Received: {name}={value!r}"
        )
    too_low = minimum is not None and (
        value < minimum or (not inclusive and value == minimum)
    )
    too_high = maximum is not None and value > maximum
    if too_low or too_high:
        bounds = (
            f"{'>=' if inclusive else '>'} {minimum}" if minimum is not None else ""
        )
        if maximum is not None:
            bounds = f"{bounds} and <= {maximum}" if bounds else f"<= {maximum}"
        raise ValueError(f"`{name}` must be {bounds}. Received: {name}={value!r}")


def check_range(name, value, minimum=None, maximum=None, integer=False):
    """A number or a (low, high) pair, returned as a (low, high) tuple."""
    kind = "an integer" if integer else "a number"
    if isinstance(value, (tuple, list)) and len(value) == 2:
        low, high = value
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        low = high = value
    else:
        raise ValueError(
            f"`{name}` must be {kind} or a (low, high) pair. Received: {name}={value!r}"
        )
    for bound in (low, high):
        valid = (
            is_integer(bound)
            if integer
            else (isinstance(bound, numbers.Real) and not isinstance(bound, bool))
        )
        if not valid or not np.isfinite(bound):
            raise ValueError(
                f"`{name}` must be {kind} or a (low, high) pair of them. "
                f"Received: {name}={value!r}"
            )
    if low > high:
        raise ValueError(f"`{name}` must have low <= high. Received: {name}={value!r}")
    if (minimum is not None and low < minimum) or (
        maximum is not None and high > maximum
    ):
        upper = "inf" if maximum is None else maximum
        raise ValueError(
            f"`{name}` must lie in [{minimum}, {upper}]. Received: {name}={value!r}"
        )
    cast = int if integer else float
    return (cast(low), cast(high))

