"""``cdn-gateway keys ...``: the keyring an operator manages (init, rotate, retire, revoke, adopt,
list), in a directory or in the store every replica reads (``keys.store``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.cli import CliError

if TYPE_CHECKING:  # imported where used: `cdn-gateway edge` must not load the gateway's modules
    from gateway.keys.gates import Replicas
    from gateway.keys.lifecycle import Lifecycle
    from gateway.keys.store import KeyringStore
    from gateway.service.settings import Settings
    from gateway.signing.crypto import KeyAlgorithm

_COMMANDS = [
    ("rotate", "create, publish, wait, probe, then switch to a new signing key"),
    ("retire", "remove keys whose last grant has expired, once no replica signs with them"),
    ("list", "show the keys, their state and age"),
    ("revoke", "emergency: stop trusting a key now (rotates first if it signs)"),
    ("adopt", "record a public key published outside rotation (e.g. by CloudFormation)"),
]


def register(commands: Any) -> None:
    keys = commands.add_parser("keys", help="manage the signing keys (keys/ or keys.store)")
    sub = keys.add_subparsers(dest="keys_command", required=True, parser_class=type(keys))
    init = sub.add_parser("init", help="create the first key and keyring (never overwrites)")
    init.add_argument("--config", type=Path, help="gateway settings (signing.keys_dir or keys.store)")
    init.add_argument("--keys", type=Path, help="keyring directory (default: keys)")
    init.add_argument("--algorithm", default="rsa", help="rsa (RSA-2048, the default) or ecdsa (P-256)")
    init.set_defaults(run=run_init)
    for name, help_text in _COMMANDS:
        command = sub.add_parser(name, help=help_text)
        command.add_argument("--config", type=Path, help="gateway settings (keyring, publisher, windows)")
        command.add_argument(
            "--keys", type=Path, help="keyring directory (without --config: local publishing)"
        )
        if name in ("rotate", "revoke"):
            command.add_argument(
                "--algorithm", help="rsa or ecdsa (default: keys.algorithm, else the current key's)"
            )
            command.add_argument(
                "--wait",
                type=_seconds,
                help="seconds between publishing and switching (default: keys.propagation_seconds, "
                "else 300 for CloudFront, 5 locally); below that is honoured with a warning",
            )
            command.add_argument(
                "--no-probe", action="store_true", help="switch without keys.probe_url's proof"
            )
        if name == "retire":
            command.add_argument(
                "--max-grant-seconds",
                type=int,
                help="longest grant lifetime (default: signing window + grace + 5 min skew)",
            )
            command.add_argument(
                "--replica",
                action="append",
                default=[],
                help="a gateway's base URL whose GET /v1/keys must no longer sign with the key (repeatable)",
            )
        if name == "revoke":
            command.add_argument("key", help="key id or CloudFront Key-Pair-Id")
        if name == "adopt":
            command.add_argument("--key-pair-id", required=True, help="the CloudFront public key id (K...)")
            command.add_argument("--key-file", type=Path, help="its private key (PEM), if not in the keyring")
        command.set_defaults(run=globals()[f"run_{name}"])


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:  # also refuses nan and inf
        raise argparse.ArgumentTypeError(f"{text!r} is not 0-3600 seconds")
    return value


def _settings(args: argparse.Namespace, command: bool) -> Settings:
    from gateway.keys.settings import KeysSettings
    from gateway.service.settings import Settings, SettingsError, load_settings

    if args.config is None:
        return Settings(keys=KeysSettings(publisher="local"))
    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        raise CliError(str(exc)) from None
    problems = settings.keys.command_problems(settings.development) if command else []
    if args.keys is not None and settings.keys.store:
        problems.append(f"--keys and keys.store ({settings.keys.store}) name two keyrings: drop one")
    if problems:
        raise CliError(str(SettingsError(problems)))
    return settings


def _store(args: argparse.Namespace, settings: Settings) -> KeyringStore:
    from gateway.keys.s3store import S3KeyringStore, store_client
    from gateway.keys.store import DirectoryStore

    if settings.keys.store:
        s3 = settings.s3
        client = store_client(
            s3.region, s3.endpoint_url, s3.addressing_style, s3.access_key_id, s3.secret_access_key
        )
        return S3KeyringStore(client, settings.keys.store, settings.keys.store_kms_key_id)
    return DirectoryStore(args.keys or (settings.signing.keys_dir if args.config else Path("keys")))


def run_init(args: argparse.Namespace) -> int:
    import time

    from gateway.keys.keyring import first_keyring
    from gateway.signing.crypto import KeyAlgorithm, generate_private_key

    try:
        algorithm = KeyAlgorithm.parse(args.algorithm)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    store = _store(args, _settings(args, command=False))
    keyring, _ = first_keyring(store.location, generate_private_key(algorithm), int(time.time()))
    _run(lambda: store.create(keyring))
    print(f"created {algorithm} key {keyring.active_id} in {store.location}")
    return 0


def _replicas(args: argparse.Namespace, settings: Settings, store: KeyringStore) -> Replicas:
    from gateway.keys.gates import Replicas, parse_report, serving_report
    from gateway.keys.s3store import S3KeyringStore

    out = Replicas()
    limit = 3 * settings.keys.heartbeat_seconds
    stored = store.reports() if isinstance(store, S3KeyringStore) else []
    for item in stored:
        report = parse_report(item.name, item.body, item.age_seconds)
        if report is None:
            out.notes.append(f"ignored replica report {item.name}: not a report")
        elif report.age_seconds > limit:
            out.notes.append(f"ignored replica {report.name}: last report {report.age_seconds:.0f}s ago")
        else:
            out.live.append(report)
    for url in args.replica:
        answer = serving_report(url)
        if isinstance(answer, str):  # asked for by name: silence is not consent
            raise CliError(f"{answer}: refusing to retire without it")
        out.live.append(answer)
    return out


def _context(args: argparse.Namespace) -> tuple[Lifecycle, Settings]:
    import time

    from gateway.keys.gates import distribution_probe
    from gateway.keys.lifecycle import Lifecycle, longest_grant_seconds
    from gateway.keys.publish import CloudFrontPublisher, LocalPublisher, Publisher
    from gateway.signing.crypto import HashAlgorithm

    settings = _settings(args, command=args.keys_command != "list")  # listing changes nothing
    store = _store(args, settings)
    directory = getattr(store, "directory", None)
    if isinstance(directory, Path) and not directory.is_dir():  # a mistyped path is not a keyring to create
        hint = (
            "check --keys"
            if args.keys
            else "check signing.keys_dir"
            if args.config
            else "pass --keys or --config"
        )
        raise CliError(f"no keyring at {directory.resolve()}: the directory does not exist ({hint})")
    publisher: Publisher = LocalPublisher()
    if settings.keys.cloudfront:
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
        store,
        publisher,
        max_keys=settings.keys.max_keys_in_group,
        max_grant_seconds=longest_grant_seconds(
            settings.signing.window_seconds, settings.signing.grace_seconds
        ),
    )
    if settings.keys.probe_url and not getattr(args, "no_probe", False):
        hashing = HashAlgorithm.parse(settings.signing.hash_algorithm)
        lifecycle.probe = distribution_probe(settings.keys.probe_url, hashing, time.time)
    elif args.keys_command in ("rotate", "revoke") and settings.keys.cloudfront:
        lifecycle.say(
            "warning: no probe (keys.probe_url unset or --no-probe): the switch is not proven to work "
            "through the distribution"
        )
    if args.keys_command == "retire":
        lifecycle.replicas = lambda: _replicas(args, settings, store)
    return lifecycle, settings


def _algorithm(args: argparse.Namespace, settings: Settings) -> KeyAlgorithm | None:
    """Asked for (--algorithm, then keys.algorithm), else None: the current key's type is kept."""
    from gateway.signing.crypto import KeyAlgorithm

    asked = args.algorithm or settings.keys.algorithm
    try:
        return KeyAlgorithm.parse(asked) if asked else None
    except ValueError as exc:
        raise CliError(str(exc)) from None


def _run(action: Any) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    from gateway.keys.keyring import KeyringError
    from gateway.keys.lifecycle import LifecycleError
    from gateway.keys.publish import PublishError, aws_failure
    from gateway.keys.store import StoreError

    try:
        action()
    except (KeyringError, PublishError, LifecycleError, StoreError) as exc:
        raise CliError(str(exc)) from None
    except (BotoCoreError, ClientError) as exc:  # a call no step wrapped: still one line
        raise CliError(str(aws_failure("an AWS call", exc))) from None
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


def run_adopt(args: argparse.Namespace) -> int:
    from gateway.keys.adopt import adopt

    lifecycle, _ = _context(args)
    return _run(lambda: adopt(lifecycle, args.key_pair_id, args.key_file))


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
