"""Exceptions as the one-line messages that the package and its command line print."""


def one_line(error, *, max_lines=None):
    """An exception's message on one line.

    Args:
        error: BaseException. The exception.
        max_lines: int or None. `None` joins every line of the message; 1
            keeps the first line only; a larger number keeps the first line
            and `max_lines - 1` of the next, joined with "; ", and counts the
            rest ("; and 3 more"). Defaults to `None`.

    Returns:
        The message, or the exception's class name when it has none. A
        `KeyError`'s message loses the quotes that `str()` adds.
    """
    text = str(error).strip()
    if isinstance(error, KeyError) and text[:1] in ("'", '"') and text[-1:] == text[:1]:
        text = text[1:-1]
    lines = [" ".join(line.split()) for line in text.splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    if max_lines is None or len(lines) == 1:
        return " ".join(lines)
    if max_lines <= 1:
        return lines[0]
    message = lines[0]
    shown = lines[1:max_lines]
    if shown:
        message += " " + "; ".join(shown)
    hidden = len(lines) - max_lines
    if hidden > 0:
        message += f"; and {hidden} more"
    return message
