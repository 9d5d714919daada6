"""``cdn-gateway keys ...``: the keyring an operator manages."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gateway.errors import CliError
from gateway.keyring import KeyringError, init_keyring
from gateway.signing.crypto import KeyAlgorithm


def register(commands: Any) -> None:
    keys = commands.add_parser("keys", help="manage the signing keys in keys/")
    sub = keys.add_subparsers(dest="keys_command", required=True, parser_class=type(keys))
    init = sub.add_parser("init", help="create the first key and keyring (never overwrites)")
    init.add_argument("--keys", type=Path, default=Path("keys"), help="keyring directory")
    init.add_argument("--algorithm", default="rsa", help="rsa (RSA-2048) or ecdsa (P-256)")
    init.set_defaults(run=run_init)


def run_init(args: argparse.Namespace) -> int:
    try:
        algorithm = KeyAlgorithm.parse(args.algorithm)
        keyring = init_keyring(args.keys, algorithm)
    except (ValueError, KeyringError) as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot write {args.keys}: {exc.strerror}") from None
    print(f"created {keyring.active.algorithm} key {keyring.active_id} in {args.keys}")
    return 0
