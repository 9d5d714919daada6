"""``cdn-gateway``: one entry point, one sub-command module per concern."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn


class CliError(Exception):
    """A command-line problem: printed as one line, exit code 2, never a traceback."""


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad argument as one line and exit code 2, without usage noise."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        raise SystemExit(2)


def build_parser() -> Parser:
    from gateway.cli import edge, explain, keys, serve, sign

    parser = Parser(prog="cdn-gateway", description="Signed-URL gateway for CloudFront and S3.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    sign.register(commands)
    explain.register(commands)
    keys.register(commands)
    serve.register(commands)
    edge.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result: int = args.run(args)
    except CliError as exc:
        sys.stderr.write(f"cdn-gateway: error: {exc}\n")
        return 2
    except KeyboardInterrupt:
        return 130
    return result
