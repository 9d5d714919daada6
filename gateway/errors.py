"""Errors with a public face: what a client or operator is told, apart from internal detail."""

from __future__ import annotations


class CliError(Exception):
    """A command-line problem: printed as one line, exit code 2, never a traceback."""
