"""``cdn-gateway sign``, ``sign-cookies`` and ``verify``: the signing core from a shell."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from gateway.cli import CliError
from gateway.keys.keyring import KeyringError, load_keyring, read_private_key
from gateway.signing.cloudfront import has_signing_params, sign_policy
from gateway.signing.crypto import HashAlgorithm, KeySigner, PublicKey, UnsupportedKey, load_public_pem
from gateway.signing.encoding import EncodingError, check_http_url, requote_url
from gateway.signing.policy import Policy, PolicyError
from gateway.signing.verify import ViewerRequest, verify_request


def _epoch(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"not an epoch in seconds: {text!r}")
    return int(text)


def _signing_options(parser: argparse.ArgumentParser) -> None:
    when = parser.add_mutually_exclusive_group(required=True)
    when.add_argument("--expires", type=_epoch, metavar="EPOCH", help="expiry, Unix seconds")
    when.add_argument("--ttl", type=_epoch, metavar="SECONDS", help="expiry, seconds from now")
    parser.add_argument("--not-before", type=_epoch, metavar="EPOCH", help="DateGreaterThan")
    parser.add_argument("--ip", metavar="CIDR", help="IPv4 address or CIDR the viewer must use")
    parser.add_argument("--hash", default="sha1", help="sha1 (CloudFront's default) or sha256")
    keys = parser.add_mutually_exclusive_group(required=True)
    keys.add_argument("--keys", type=Path, metavar="DIR", help="keyring directory (active key)")
    keys.add_argument("--key-file", type=Path, metavar="PEM", help="a private key (with --key-id)")
    parser.add_argument("--key-id", metavar="ID", help="Key-Pair-Id for --key-file/--public-key")


def register(commands: Any) -> None:
    sign = commands.add_parser("sign", help="print a CloudFront signed URL")
    sign.add_argument("url")
    sign.add_argument("--resource", metavar="PATTERN", help="custom-policy Resource (wildcards)")
    _signing_options(sign)
    sign.set_defaults(run=run_sign)

    cookies = commands.add_parser("sign-cookies", help="print CloudFront signed cookies as JSON")
    cookies.add_argument("--resource", metavar="PATTERN", required=True)
    _signing_options(cookies)
    cookies.set_defaults(run=run_sign_cookies)

    verify = commands.add_parser("verify", help="check a URL (and cookies) as CloudFront would")
    verify.add_argument("url")
    verify.add_argument("--cookie", action="append", default=[], metavar="NAME=VALUE")
    verify.add_argument("--ip", metavar="IP", help="viewer address for IpAddress policies")
    verify.add_argument("--now", type=_epoch, metavar="EPOCH", help="evaluate at this time")
    keys = verify.add_mutually_exclusive_group(required=True)
    keys.add_argument("--keys", type=Path, metavar="DIR", help="trust every key in this keyring")
    keys.add_argument("--public-key", type=Path, metavar="PEM", help="trust one public key")
    verify.add_argument("--key-id", metavar="ID")
    verify.set_defaults(run=run_verify)


def _no_keyring(directory: Path) -> CliError | None:
    """A mistyped ``--keys`` is said plainly; ``keys init`` is suggested only for a directory
    that exists without a keyring (the keyring's own message)."""
    if directory.is_dir():
        return None
    return CliError(f"no keyring at {directory.resolve()}: the directory does not exist (check --keys)")


def _signer(args: argparse.Namespace) -> KeySigner:
    if args.keys is not None:
        if problem := _no_keyring(args.keys):
            raise problem
        try:
            return load_keyring(args.keys).require_signer()
        except KeyringError as exc:
            raise CliError(str(exc)) from None
    if not args.key_id:
        raise CliError("--key-file needs --key-id")
    problems: list[str] = []
    key = read_private_key(args.key_file, problems)
    if problems or key is None:
        raise CliError("; ".join(problems))
    return KeySigner(args.key_id, key)


def _expiry(args: argparse.Namespace) -> int:
    """The expiry, refused when it is already past: a grant that never works is a mistake."""
    now = int(time.time())
    if args.expires is None:
        if args.ttl < 1:
            raise CliError(f"--ttl must be at least 1 second, not {args.ttl}")
        return now + int(args.ttl)
    if args.expires <= now:
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(args.expires))
        raise CliError(f"--expires {args.expires} ({when}) is in the past; give a later time or --ttl")
    return int(args.expires)


def _policy(args: argparse.Namespace, url: str | None) -> Policy:
    expires = _expiry(args)
    custom = args.resource is not None or args.not_before is not None or args.ip is not None
    try:
        if args.resource is not None and ("*" in args.resource or "?" in args.resource):
            custom = True  # a wildcard resource can only be a custom policy
        resource = requote_url(args.resource) if args.resource is not None else url
        assert resource is not None
        if custom:
            return Policy.make_custom(resource, expires, args.not_before, args.ip)
        return Policy.make_canned(resource, expires)
    except PolicyError as exc:
        raise CliError(str(exc)) from None


def _hash(args: argparse.Namespace) -> HashAlgorithm:
    try:
        return HashAlgorithm.parse(args.hash)
    except ValueError as exc:
        raise CliError(str(exc)) from None


def run_sign(args: argparse.Namespace) -> int:
    url = requote_url(args.url)
    try:
        check_http_url(url)
    except EncodingError as exc:
        raise CliError(str(exc)) from None
    if has_signing_params(urlsplit(url).query):
        raise CliError("URL already carries CloudFront signing parameters")
    hash_algorithm = _hash(args)
    signed = sign_policy(_policy(args, url), _signer(args), hash_algorithm)
    print(signed.url(url))
    return 0


def run_sign_cookies(args: argparse.Namespace) -> int:
    hash_algorithm = _hash(args)
    signed = sign_policy(_policy(args, None), _signer(args), hash_algorithm)
    print(json.dumps(signed.cookies(), indent=2))
    return 0


def _trusted(args: argparse.Namespace) -> dict[str, PublicKey]:
    if args.keys is not None:
        if problem := _no_keyring(args.keys):
            raise problem
        try:
            return dict(load_keyring(args.keys, private=False).public_keys)
        except KeyringError as exc:
            raise CliError(str(exc)) from None
    if not args.key_id:
        raise CliError("--public-key needs --key-id")
    try:
        return {args.key_id: load_public_pem(args.public_key.read_bytes())}
    except OSError as exc:
        raise CliError(f"{args.public_key}: {exc.strerror}") from None
    except (ValueError, UnsupportedKey):
        raise CliError(f"{args.public_key} is not an RSA-2048 or P-256 public key") from None


def run_verify(args: argparse.Namespace) -> int:
    cookies = []
    for item in args.cookie:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise CliError(f"--cookie must be NAME=VALUE, not {item!r}")
        cookies.append((name, value))
    parts = urlsplit(args.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CliError("URL must be absolute http:// or https://")
    request = ViewerRequest(
        parts.scheme, parts.netloc, parts.path or "/", parts.query, tuple(cookies), args.ip
    )
    now = args.now if args.now is not None else int(time.time())
    verdict = verify_request(request, _trusted(args), now)
    print("OK" if verdict.ok else verdict.error.code if verdict.error else "AccessDenied")
    return 0 if verdict.ok else 1
