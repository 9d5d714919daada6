"""``cdn-gateway edge``: the local CloudFront stand-in."""

from __future__ import annotations

import argparse
import dataclasses
import ssl
from pathlib import Path
from typing import Any

from gateway.cli import CliError
from gateway.common.config import SettingsError
from gateway.keys.keyring import KeyringError


def register(commands: Any) -> None:
    edge = commands.add_parser("edge", help="run the local edge (verifies CloudFront signatures, serves S3)")
    edge.add_argument("--config", type=Path, help="edge TOML (EDGE_* variables override it)")
    edge.add_argument("--host")
    edge.add_argument("--port", type=int)
    edge.add_argument("--certfile", type=Path, help="serve HTTPS: PEM certificate chain (with --keyfile)")
    edge.add_argument("--keyfile", type=Path, help="serve HTTPS: PEM private key of the certificate")
    edge.set_defaults(run=run_edge)


def run_edge(args: argparse.Namespace) -> int:
    from aiohttp import web

    from gateway.common.runtime import configure_logging, new_loop
    from gateway.edge.accesslog import EdgeAccessLogger
    from gateway.edge.app import create_edge_app
    from gateway.edge.settings import load_edge_settings

    try:
        settings = load_edge_settings(args.config)
    except SettingsError as exc:
        raise CliError(str(exc)) from None
    if bool(args.certfile) != bool(args.keyfile):
        raise CliError("--certfile and --keyfile go together")
    server = dataclasses.replace(
        settings.server,
        host=args.host or settings.server.host,
        port=args.port or settings.server.port,
        certfile=str(args.certfile or settings.server.certfile),
        keyfile=str(args.keyfile or settings.server.keyfile),
    )
    settings = dataclasses.replace(settings, server=server)
    ssl_context = _tls(server.certfile, server.keyfile) if server.certfile else None
    try:
        app = create_edge_app(settings)
    except KeyringError as exc:
        raise CliError(str(exc)) from None
    configure_logging()
    scheme = "https" if ssl_context else "http"
    print(f"edge listening on {scheme}://{server.host}:{server.port}", flush=True)
    web.run_app(
        app,
        host=server.host,
        port=server.port,
        access_log_class=EdgeAccessLogger,
        ssl_context=ssl_context,
        loop=new_loop(),
        keepalive_timeout=server.header_timeout_seconds,
        print=None,
        shutdown_timeout=5,
    )
    return 0


def _tls(certfile: str, keyfile: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(certfile, keyfile)
    except (OSError, ssl.SSLError) as exc:
        raise CliError(f"cannot load the TLS certificate {certfile} / {keyfile}: {exc}") from None
    return context
