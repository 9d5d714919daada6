"""``cdn-gateway explain``: why the edge serves or refuses a URL, told check by check (issue 13).

It runs the edge's own code, not a copy: the target and Host reading of gateway/edge/viewer.py,
the behaviour matching and cookie parsing of gateway/edge/app.py, and the verifier with a trace
(gateway/signing/explain.py).  Exit 0: the edge would serve the request; 1: it would refuse it,
and the last line names the answer; 2: bad arguments, in one line.
"""

from __future__ import annotations

import argparse
import ipaddress
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.cli import CliError

if TYPE_CHECKING:  # imported where used: `cdn-gateway edge` builds this parser too
    from gateway.edge.settings import EdgeSettings
    from gateway.keys.keyring import Keyring
    from gateway.signing.explain_steps import Line

_URL = re.compile(r"\A(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<authority>[^/?#]*)", re.S)
_WIDTH = 18


def _epoch(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"not an epoch in seconds: {text!r}")
    return int(text)


def _address(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IP address: {text!r}") from None


def register(commands: Any) -> None:
    explain = commands.add_parser(
        "explain", help="tell, check by check, why the edge would serve or refuse a URL"
    )
    explain.add_argument("url", help="the URL as the viewer asks for it, signing parameters included")
    explain.add_argument(
        "--cookie",
        action="append",
        default=[],
        metavar="'NAME=VALUE; ...'",
        help="a Cookie header as the viewer sends it (repeat for several lines)",
    )
    source = explain.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--config", type=Path, help="the edge's TOML: its distribution URLs, behaviours and keyring"
    )
    source.add_argument("--keys", type=Path, metavar="DIR", help="a keyring: trust its published keys")
    explain.add_argument("--now", type=_epoch, metavar="EPOCH", help="judge at this time (Unix seconds)")
    explain.add_argument("--ip", type=_address, metavar="ADDRESS", help="the viewer's address")
    explain.set_defaults(run=run_explain)


def _say(status: str, check: str, text: str) -> None:
    print(f"{status:<4}  {check:<{_WIDTH}} {text}")


def _show(line: Line) -> None:
    if line.status == "hint":
        print(f"{'':{6 + _WIDTH}} hint: {line.text}")
        return
    _say("" if line.status == "info" else line.status, line.check, line.text)
    for more in line.more:
        for part in more.splitlines() or [""]:
            print(f"{'':{8 + _WIDTH}} {part}")


def _result(code: str, why: str) -> int:
    if code == "OK":
        print(f"result: OK ({why})")
        return 0
    print(f"result: {code} ({why})")
    return 1


def _load(args: argparse.Namespace) -> tuple[EdgeSettings | None, Keyring]:
    from gateway.common.config import SettingsError
    from gateway.edge.settings import load_edge_settings
    from gateway.keys.keyring import KeyringError, load_keyring

    settings = None
    if args.config is not None:
        try:
            settings = load_edge_settings(args.config)
        except SettingsError as exc:
            raise CliError(str(exc)) from None
    try:
        return settings, load_keyring(settings.keys_dir if settings else args.keys, private=False)
    except KeyringError as exc:
        raise CliError(str(exc)) from None


def _cookies(lines: list[str]) -> tuple[tuple[str, str], ...]:
    from gateway.edge.app import parse_cookies

    for line in lines:
        if not parse_cookies([line]):
            raise CliError(f"--cookie must be 'NAME=VALUE; NAME=VALUE ...', not {line!r}")
    return parse_cookies(lines)


def run_explain(args: argparse.Namespace) -> int:
    from gateway.edge.app import Behaviors
    from gateway.edge.viewer import Refusal, canonical_authority, distribution_origin, object_key, read_target
    from gateway.signing.explain import explain, keyring_notes
    from gateway.signing.verify import ViewerRequest

    url, _, fragment = args.url.partition("#")
    match = _URL.match(url)
    if match is None or match["scheme"].lower() not in ("http", "https") or not match["authority"]:
        raise CliError("the URL must be absolute: http:// or https://, a host, then the path")
    scheme, authority = match["scheme"].lower(), match["authority"]
    cookies = _cookies(args.cookie)
    settings, keyring = _load(args)
    now = args.now if args.now is not None else int(time.time())

    if settings is None:
        try:
            served = frozenset({(scheme, canonical_authority(scheme, authority))})
        except ValueError:
            raise CliError(f"the URL's host {authority!r} is not a valid host[:port]") from None
    else:
        served = frozenset(distribution_origin(u) for u in settings.distribution.urls)
    _say("", "request", f"GET {url}")
    if fragment:
        _say("", "fragment", f"#{fragment} dropped: browsers never send it")
    if settings is not None:
        _say("", "distribution", "configured: " + ", ".join(settings.distribution.urls))
    try:
        target = read_target(url, None, scheme, served)
    except Refusal as refusal:
        _say("FAIL", "distribution", refusal.reason)
        return _result("refused", f"HTTP {refusal.status}, the edge's HTML page, no CloudFront error code")
    if target.host != authority:
        _say("", "host", f"{authority} is read as {target.host}")
    own = "" if settings else " (the URL's own: no --config names the edge's)"
    _say("ok", "distribution", f"{target.scheme}://{target.host}{own}")
    s3_origin = True
    if settings is not None:
        behavior = Behaviors(settings.behaviors).match(target.path)
        number = settings.behaviors.index(behavior) + 1
        where = f"#{number} {behavior.path_pattern!r} matches {target.path}"
        s3_origin = behavior.origin == "s3"
        if not behavior.signed:
            _say("ok", "behaviour", f"{where}: public, no signature is checked")
            return _result("OK", "a public behaviour: the edge serves it without a signature")
        _say("", "behaviour", f"{where}: signed")
    request = ViewerRequest(target.scheme, target.host, target.raw_path, target.raw_query, cookies, args.ip)
    told = explain(request, keyring.public_keys, now, keyring_notes(keyring.entries))
    for line in told.lines:
        _show(line)
    if told.failed is not None:
        return _result(told.code, f"HTTP 403, refused at {told.failed}")
    if s3_origin and object_key(target.raw_path) is None:
        _say("FAIL", "object-key", "the path names no object (an empty, '.' or '..' segment, or a '\\')")
        return _result("AccessDenied", "HTTP 403, refused at object-key")
    return _result("OK", "the signature holds: the edge serves the request")
