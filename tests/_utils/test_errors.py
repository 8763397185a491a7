import pytest

from keras_attn_deblur._utils.errors import one_line


def test_one_line_joins_every_line_by_default():
    assert one_line(ValueError("first\n  second\n\nthird  ")) == "first second third"


@pytest.mark.parametrize(
    "max_lines, expected",
    [
        (1, "first"),
        (2, "first second; and 2 more"),
        (4, "first second; third; fourth"),
        (9, "first second; third; fourth"),
    ],
)
def test_one_line_keeps_the_first_lines_and_counts_the_rest(max_lines, expected):
    error = OSError("first\nsecond\nthird\nfourth")
    assert one_line(error, max_lines=max_lines) == expected


def test_one_line_of_an_empty_error_is_its_class_and_a_key_error_loses_its_quotes():
    assert one_line(RuntimeError()) == "RuntimeError"
    assert one_line(KeyError("missing 'x'")) == "missing 'x'"
