"""Errors that the command line turns into one line and exit status 2."""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input: a one-line message saying what is wrong and how to fix it.

    The command line prints it to stderr without a traceback and exits with status 2.
    """
