"""``cdn-gateway keys ...``: the keyring an operator manages (init, rotate, retire, revoke, list)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.cli import CliError

if TYPE_CHECKING:  # imported where used: `cdn-gateway edge` must not load the gateway's modules
    from gateway.keys.lifecycle import Lifecycle
    from gateway.service.settings import Settings
    from gateway.signing.crypto import KeyAlgorithm


def register(commands: Any) -> None:
    keys = commands.add_parser("keys", help="manage the signing keys in keys/")
    sub = keys.add_subparsers(dest="keys_command", required=True, parser_class=type(keys))
    init = sub.add_parser("init", help="create the first key and keyring (never overwrites)")
    init.add_argument("--keys", type=Path, default=Path("keys"), help="keyring directory")
    init.add_argument("--algorithm", default="rsa", help="rsa (RSA-2048) or ecdsa (P-256)")
    init.set_defaults(run=run_init)
    for name, help_text, run in [
        ("rotate", "create, publish, then switch to a new signing key", run_rotate),
        ("retire", "remove keys whose last grant has expired", run_retire),
        ("list", "show the keys, their state and age", run_list),
        ("revoke", "emergency: stop trusting a key now (rotates first if it signs)", run_revoke),
    ]:
        command = sub.add_parser(name, help=help_text)
        command.add_argument("--config", type=Path, help="gateway settings (keys dir, publisher, windows)")
        command.add_argument(
            "--keys", type=Path, help="keyring directory (without --config: local publishing)"
        )
        if name in ("rotate", "revoke"):
            command.add_argument("--algorithm", help="rsa or ecdsa (default: keys.algorithm)")
            command.add_argument(
                "--wait",
                type=_seconds,
                help="seconds between publishing and switching (default: keys.propagation_seconds, "
                "else 300 for CloudFront, 5 locally); below that is honoured with a warning",
            )
        if name == "retire":
            command.add_argument(
                "--max-grant-seconds",
                type=int,
                help="longest grant lifetime (default: signing window + grace + 5 min skew)",
            )
        if name == "revoke":
            command.add_argument("key", help="key id or CloudFront Key-Pair-Id")
        command.set_defaults(run=run)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"{text!r} is not 0-3600 seconds")
    return value


def run_init(args: argparse.Namespace) -> int:
    from gateway.keys.keyring import KeyringError, init_keyring
    from gateway.signing.crypto import KeyAlgorithm

    try:
        algorithm = KeyAlgorithm.parse(args.algorithm)
        keyring = init_keyring(args.keys, algorithm)
    except (ValueError, KeyringError) as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"cannot write {args.keys}: {exc.strerror}") from None
    print(f"created {keyring.active.algorithm} key {keyring.active_id} in {args.keys}")
    return 0


def _context(args: argparse.Namespace) -> tuple[Lifecycle, Settings]:
    from gateway.keys.lifecycle import Lifecycle, longest_grant_seconds
    from gateway.keys.publish import CloudFrontPublisher, LocalPublisher, Publisher
    from gateway.keys.settings import KeysSettings
    from gateway.service.settings import Settings, SettingsError, load_settings

    if args.config is not None:
        try:
            settings = load_settings(args.config)
        except SettingsError as exc:
            raise CliError(str(exc)) from None
    else:
        settings = Settings(keys=KeysSettings())
    directory = args.keys or (settings.signing.keys_dir if args.config else Path("keys"))
    if not directory.is_dir():  # said plainly: a mistyped path is not a keyring to create
        hint = (
            "check --keys"
            if args.keys
            else "check signing.keys_dir"
            if args.config
            else "pass --keys or --config"
        )
        raise CliError(f"no keyring at {directory.resolve()}: the directory does not exist ({hint})")
    publisher: Publisher = LocalPublisher()
    if settings.keys.publisher == "cloudfront":
        import boto3

        # CloudFront's control plane lives in us-east-1 whatever the distribution serves.
        client = boto3.client("cloudfront", region_name="us-east-1")
        publisher = CloudFrontPublisher(
            client,
            settings.keys.key_group_id,
            settings.keys.max_keys_in_group,
            distribution_id=settings.keys.distribution_id,
        )
    lifecycle = Lifecycle(
        directory,
        publisher,
        max_keys=settings.keys.max_keys_in_group,
        max_grant_seconds=longest_grant_seconds(
            settings.signing.window_seconds, settings.signing.grace_seconds
        ),
    )
    return lifecycle, settings


def _algorithm(args: argparse.Namespace, settings: Settings) -> KeyAlgorithm:
    from gateway.signing.crypto import KeyAlgorithm

    try:
        return KeyAlgorithm.parse(args.algorithm or settings.keys.algorithm)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _run(action: Any) -> int:
    from gateway.keys.keyring import KeyringError
    from gateway.keys.lifecycle import LifecycleError
    from gateway.keys.publish import PublishError

    try:
        action()
    except (KeyringError, PublishError, LifecycleError) as exc:
        raise CliError(str(exc)) from None
    except OSError as exc:
        raise CliError(f"{exc.filename}: {exc.strerror}") from None
    return 0


def run_rotate(args: argparse.Namespace) -> int:
    lifecycle, settings = _context(args)
    wait = settings.keys.propagation_seconds if args.wait is None else args.wait
    return _run(lambda: lifecycle.rotate(_algorithm(args, settings), wait))


def run_retire(args: argparse.Namespace) -> int:
    lifecycle, _ = _context(args)
    max_grant = args.max_grant_seconds if args.max_grant_seconds is not None else lifecycle.max_grant_seconds

    def retire() -> None:
        if not lifecycle.retire(max_grant):
            print("nothing to retire")

    return _run(retire)


def run_revoke(args: argparse.Namespace) -> int:
    lifecycle, settings = _context(args)
    wait = settings.keys.propagation_seconds if args.wait is None else args.wait
    return _run(lambda: lifecycle.revoke(args.key, _algorithm(args, settings), wait))


def run_list(args: argparse.Namespace) -> int:
    lifecycle, _ = _context(args)

    def show() -> None:
        rows = lifecycle.table()
        columns = ["id", "key_pair_id", "algorithm", "state", "age", "since"]
        widths = {c: max(len(c), *(len(r[c]) for r in rows)) for c in columns}
        print("  ".join(c.upper().ljust(widths[c]) for c in columns))
        for row in rows:
            print("  ".join(row[c].ljust(widths[c]) for c in columns))

    return _run(show)
