import math

import numpy as np
import pytest

from keras_attn_deblur._utils import validation


@pytest.mark.parametrize("value", [1, 7, np.int64(3)])
def test_positive_integers_are_returned_as_int(value):
    result = validation.check_positive_int("count", value)
    assert result == int(value) and type(result) is int


@pytest.mark.parametrize("value", [0, -2, 1.0, True, "3", None])
def test_other_values_name_the_argument_and_the_value(value):
    with pytest.raises(ValueError, match=rf"`count` must be a positive integer\. Received: count={value!r}"):
        validation.check_positive_int("count", value)


def test_none_is_allowed_only_when_asked_and_the_message_says_so():
    assert validation.check_positive_int("steps", None, allow_none=True) is None
    with pytest.raises(ValueError, match="positive integer or None"):
        validation.check_positive_int("steps", 0, allow_none=True)
    assert validation.check_positive_float("budget", None, allow_none=True) is None
    with pytest.raises(ValueError, match="`budget` must be None or a positive, finite number"):
        validation.check_positive_float("budget", math.inf, allow_none=True)


def test_the_other_checks():
    assert validation.check_non_negative_int("margin", 0) == 0
    with pytest.raises(ValueError, match="integer >= 0"):
        validation.check_non_negative_int("margin", -1)
    assert validation.check_positive_float("lr", 2) == 2.0
    for bad in (0, -1.0, math.nan, False):
        with pytest.raises(ValueError, match="positive, finite"):
            validation.check_positive_float("lr", bad)
    assert validation.check_probability("p", 1) == 1.0
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        validation.check_probability("p", 1.5)
    assert validation.check_choice("space", "linear", ("gamma", "linear")) == "linear"
    with pytest.raises(ValueError, match=r"one of \['gamma', 'linear'\]"):
        validation.check_choice("space", "log", ("gamma", "linear"))
