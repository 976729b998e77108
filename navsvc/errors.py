"""Exceptions that carry a message meant for the user.

`InputError` means the caller gave us something we cannot use (exit code 2 on the
command line, HTTP 4xx in the service); anything else is an internal failure.
"""


class InputError(ValueError):
    """The input cannot be used; the message says what is wrong and what to do."""


class PipelineError(RuntimeError):
    """A pipeline stage failed on valid-looking input (e.g. registration diverged)."""


#: longest representation of a caller's value that a message quotes
SHOWN_VALUE_CHARS = 60


def shown_value(value) -> str:
    """``repr(value)``, cut to :data:`SHOWN_VALUE_CHARS` characters (with ``...``), for
    messages that quote what the caller sent: a 1 MB value must not come back as a 1 MB
    error."""
    text = repr(value)
    return text if len(text) <= SHOWN_VALUE_CHARS else text[:SHOWN_VALUE_CHARS - 3] + "..."


def shown_text(text, limit: int = 100) -> str:
    """``text`` made safe for a one-line message: control characters replaced, length capped.

    Parameters
    ----------
    text : str
        Text from a file (any object is converted with ``str``).
    limit : int
        Longest result, characters; longer text is cut and ends in ``...``.

    Returns
    -------
    str
        The text with every non-printable character replaced by ``?``.
    """
    clean = "".join(c if c.isprintable() else "?" for c in str(text))
    return clean if len(clean) <= limit else clean[: limit - 3] + "..."
