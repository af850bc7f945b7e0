"""Exceptions and warnings raised by bayeslaw.

Every error about user input is a ``ValueError`` subclass whose message is one
plain sentence (or a short bulleted list) saying what was found, where, and how
to fix it. The CLI prints the message and exits with status 2.
"""


class BayeslawError(ValueError):
    """Base class for errors caused by user input (data, laws, priors, files)."""


class DataError(BayeslawError):
    """The run table cannot be used as given (missing column, bad values, ...)."""


class PriorError(BayeslawError):
    """A prior is malformed or names an unknown parameter."""


class LawError(BayeslawError):
    """A law is unknown, malformed, or does not fit the data given to it."""


class FitFileError(BayeslawError):
    """A saved fit cannot be written or read (exists, corrupted, foreign)."""


class DiagnosticWarning(UserWarning):
    """The sampler's diagnostics say the posterior may not be trustworthy."""


def shown(value: object) -> str:
    """``repr`` of a value as a user wrote it: NumPy scalars as the Python number (``0.0``, not
    ``np.float64(0.0)``), for messages."""
    item = getattr(value, "item", None)
    if callable(item) and type(value).__module__ == "numpy" and getattr(value, "ndim", 1) == 0:
        value = item()
    return repr(value)
