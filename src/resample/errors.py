"""The one exception type that the library raises for bad input, and short quotes for messages."""

EXCERPT_CHARS = 40


class ResampleError(ValueError):
    """Bad input or an impossible request. Its message is one line, fit to show a user."""


def excerpt(value, limit=EXCERPT_CHARS):
    """``repr`` of what was bad, cut to about ``limit`` characters: an error message quotes at
    most a short excerpt of the input (a 1 GB CSV line is not echoed)."""
    if isinstance(value, (str, bytes)) and len(value) > limit:
        return repr(value[:limit]) + f"... ({len(value)} characters)"
    text = repr(value)
    if len(text) > limit + 2:
        return text[:limit] + "..."
    return text


def first_line(exc, limit=200):
    """The first line of an exception's message (its type's name if it has none), cut short."""
    lines = str(exc).strip().splitlines()
    text = lines[0] if lines else type(exc).__name__
    return text if len(text) <= limit else text[:limit] + "..."
