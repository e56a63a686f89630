"""Errors that the command line turns into one line and exit status 2."""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input: a one-line message saying what is wrong and how to fix it.

    The command line prints it to stderr without a traceback and exits with status 2.
    """


class RunWarning(UserWarning):
    """Something a user should know, in one line, that does not stop the run.

    Examples: a unit file that failed its checks and was set aside, a CSV read with
    decimal commas, more workers asked for than there are cores. The command line prints
    each as ``warning: ...`` on one line of stderr.
    """
