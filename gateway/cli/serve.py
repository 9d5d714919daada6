"""``cdn-gateway serve`` and ``cdn-gateway dev-token``."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import multiprocessing
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.cli import CliError

if TYPE_CHECKING:  # imported where used: `cdn-gateway edge` must not load the gateway's modules
    from gateway.service.settings import Settings

log = logging.getLogger("gateway")
# What `make run` writes, and what `make keys` and friends already use when it is there.
LOCAL_CONFIG = Path(".local/gateway.toml")


def register(commands: Any) -> None:
    serve = commands.add_parser("serve", help="run the gateway HTTP service")
    serve.add_argument("--config", type=Path, help="settings TOML (GATEWAY_* variables override it)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--workers", type=int, default=1, help="processes sharing the port (SO_REUSEPORT)")
    serve.set_defaults(run=run_serve)

    token = commands.add_parser("dev-token", help="print a development bearer token (HS256)")
    token.add_argument("--config", type=Path, help=f"settings TOML (default: {LOCAL_CONFIG} when present)")
    token.add_argument("--sub", required=True)
    token.add_argument("--groups", default="", help="comma-separated group names")
    token.add_argument("--ttl", type=int, default=3600)
    token.set_defaults(run=run_dev_token)


def settings_from(args: argparse.Namespace) -> Settings:
    from gateway.service.settings import SettingsError, load_settings

    try:
        return load_settings(args.config)
    except SettingsError as exc:
        raise CliError(str(exc)) from None


def _serve(settings: Settings, reuse_port: bool) -> None:
    from aiohttp import web

    from gateway.common.runtime import configure_logging, new_loop
    from gateway.service.accesslog import ServiceAccessLogger
    from gateway.service.app import create_app

    configure_logging()
    app = create_app(settings)
    web.run_app(
        app,
        host=settings.server.host,
        port=settings.server.port,
        reuse_port=reuse_port,
        access_log_class=ServiceAccessLogger,
        loop=new_loop(),
        keepalive_timeout=settings.server.header_timeout_seconds,
        print=None,
        shutdown_timeout=10,
    )


def _warn_about_cookie_scope(settings: Settings) -> None:
    """Once, in the parent: CORS origins whose pages the CDN's cookies cannot reach."""
    from urllib.parse import urlsplit

    from gateway.common.runtime import configure_logging
    from gateway.service.checks import cookie_sharing_warning

    cdn_host = urlsplit(settings.signing.cdn_base_url).hostname or ""
    warning = cookie_sharing_warning(settings.cookies.domain, cdn_host, settings.cors.origins)
    if warning:
        configure_logging()
        log.warning(warning)


def _check(settings: Settings) -> None:
    """Load keys and rules once in the parent so a bad file fails with one line, not N tracebacks."""
    from gateway.keys.keyring import KeyringError
    from gateway.rules.load import RulesError
    from gateway.service.app import create_app
    from gateway.service.s3client import NoCredentials

    try:
        create_app(settings)
    except (KeyringError, RulesError, NoCredentials) as exc:
        raise CliError(str(exc)) from None


def run_serve(args: argparse.Namespace) -> int:
    settings = settings_from(args)
    server = dataclasses.replace(
        settings.server, host=args.host or settings.server.host, port=args.port or settings.server.port
    )
    settings = dataclasses.replace(settings, server=server)
    if args.workers < 1:
        raise CliError("--workers must be at least 1")
    _check(settings)
    _warn_about_cookie_scope(settings)
    print(
        f"cdn-gateway listening on http://{server.host}:{server.port} ({args.workers} worker(s))", flush=True
    )
    if args.workers == 1:
        _serve(settings, reuse_port=False)
        return 0
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_serve, args=(settings, True), daemon=True) for _ in range(args.workers)
    ]
    for worker in workers:
        worker.start()

    def stop(signum: int, frame: object) -> None:
        for worker in workers:
            if worker.is_alive():
                worker.terminate()  # SIGTERM: aiohttp finishes in-flight requests, then exits

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for worker in workers:
        worker.join()
    return 0


def run_dev_token(args: argparse.Namespace) -> int:
    from gateway.service.auth import dev_token

    if args.config is None and LOCAL_CONFIG.is_file():
        args.config = LOCAL_CONFIG
        sys.stderr.write(f"cdn-gateway: using {LOCAL_CONFIG} (written by make run; --config to choose)\n")
    try:
        settings = settings_from(args)
    except CliError as exc:
        if args.config is None:  # the environment alone rarely makes a whole configuration
            raise CliError(f"{exc} (no --config, and no {LOCAL_CONFIG} here: run make run first)") from None
        raise
    if not settings.development or not settings.auth.dev_secret:
        raise CliError("dev-token needs environment = development and auth.dev_secret")
    groups = [g for g in args.groups.split(",") if g]
    print(dev_token(settings.auth, args.sub, groups, ttl=args.ttl))
    return 0
