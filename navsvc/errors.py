"""Exceptions that carry a message meant for the user.

`InputError` means the caller gave us something we cannot use (exit code 2 on the
command line, HTTP 4xx in the service); anything else is an internal failure.
"""


class InputError(ValueError):
    """The input cannot be used; the message says what is wrong and what to do."""


class PipelineError(RuntimeError):
    """A pipeline stage failed on valid-looking input (e.g. registration diverged)."""
