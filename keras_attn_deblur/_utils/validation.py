"""Argument checks that raise the package's `ValueError("... Received: name=value")`."""

import argparse
import math
import numbers


def is_integer(value):
    """Whether `value` is an integer (Python or NumPy), not a bool."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_positive_int(name, value, *, allow_none=False):
    """`value` as an int if it is an integer >= 1 (or None when allowed); else ValueError."""
    if value is None and allow_none:
        return None
    if not is_integer(value) or value < 1:
        alternative = " or None" if allow_none else ""
        raise ValueError(
            f"`{name}` must be a positive integer{alternative}. Received: {name}={value!r}"
        )
    return int(value)


def check_non_negative_int(name, value):
    """`value` as an int if it is an integer >= 0; else ValueError."""
    if not is_integer(value) or value < 0:
        raise ValueError(f"`{name}` must be an integer >= 0. Received: {name}={value!r}")
    return int(value)


def check_positive_float(name, value, *, allow_none=False):
    """`value` as a float if it is a finite number > 0 (or None when allowed); else ValueError."""
    if value is None and allow_none:
        return None
    if (
        not isinstance(value, numbers.Real)
        or isinstance(value, bool)
        or not 0 < value < math.inf
    ):
        alternative = "None or " if allow_none else ""
        raise ValueError(
            f"`{name}` must be {alternative}a positive, finite number. Received: {name}={value!r}"
        )
    return float(value)


def check_probability(name, value):
    """`value` as a float if it is a number in [0, 1]; else ValueError."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not 0 <= value <= 1:
        raise ValueError(f"`{name}` must be a number in [0, 1]. Received: {name}={value!r}")
    return float(value)


def check_momentum(name, value):
    """`value` as a float if it is a number strictly between 0 and 1; else ValueError."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not 0 < value < 1:
        raise ValueError(
            f"`{name}` must be a number between 0 and 1, exclusive (e.g. 0.999). "
            f"Received: {name}={value!r}"
        )
    return float(value)


def check_choice(name, value, choices):
    """`value` if it is one of `choices`; else ValueError listing them."""
    if value not in choices:
        raise ValueError(f"`{name}` must be one of {list(choices)}. Received: {name}={value!r}")
    return value


# === Argument types (these checks, argparse's messages) ===


def argument_type(parse, check, expected, unparsable=None):
    """An argparse `type`: `parse` the text, then `check` it; a one-line usage error else."""

    def convert(text):
        try:
            value = parse(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {unparsable or expected}, got {text!r}"
            ) from None
        try:
            return check("value", value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None

    return convert


positive_int = argument_type(int, check_positive_int, "a positive integer")
non_negative_int = argument_type(int, check_non_negative_int, "an integer >= 0")
positive_float = argument_type(
    float, check_positive_float, "a positive, finite number", unparsable="a positive number"
)
probability = argument_type(float, check_probability, "a number in [0, 1]")
momentum = argument_type(float, check_momentum, "a number between 0 and 1, exclusive")
