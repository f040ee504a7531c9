"""The one exception type that the library raises for bad input."""


class ResampleError(ValueError):
    """Bad input or an impossible request. Its message is one line, fit to show a user."""
