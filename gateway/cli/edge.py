"""``cdn-gateway edge``: the local CloudFront stand-in."""

from __future__ import annotations

import argparse
import dataclasses
import logging
from pathlib import Path
from typing import Any

from gateway.errors import CliError
from gateway.keyring import KeyringError
from gateway.settings import SettingsError


def register(commands: Any) -> None:
    edge = commands.add_parser("edge", help="run the local edge (verifies CloudFront signatures, serves S3)")
    edge.add_argument("--config", type=Path, help="edge TOML (EDGE_* variables override it)")
    edge.add_argument("--host")
    edge.add_argument("--port", type=int)
    edge.set_defaults(run=run_edge)


def run_edge(args: argparse.Namespace) -> int:
    from aiohttp import web

    from gateway.accesslog import JsonAccessLogger
    from gateway.edge.app import create_edge_app
    from gateway.edge.settings import load_edge_settings
    from gateway.runtime import new_loop

    try:
        settings = load_edge_settings(args.config)
    except SettingsError as exc:
        raise CliError(str(exc)) from None
    server = dataclasses.replace(
        settings.server, host=args.host or settings.server.host, port=args.port or settings.server.port
    )
    settings = dataclasses.replace(settings, server=server)
    try:
        app = create_edge_app(settings)
    except KeyringError as exc:
        raise CliError(str(exc)) from None
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    print(f"edge listening on http://{server.host}:{server.port}", flush=True)
    web.run_app(
        app,
        host=server.host,
        port=server.port,
        access_log_class=JsonAccessLogger,
        loop=new_loop(),
        keepalive_timeout=server.header_timeout_seconds,
        print=None,
        shutdown_timeout=5,
    )
    return 0
