"""``make run``'s foreground process: start the stack, print where everything is, and stop it all
on Ctrl-C (a second Ctrl-C kills what is left at once)."""

from __future__ import annotations

import os
import shlex
import signal
import sys
import time
from pathlib import Path

from devstack.stack import BUCKET, STOP_SECONDS, Stack, StackConfig


def _command(config: StackConfig) -> str:
    """The ``cdn-gateway dev-token`` line a user can paste here (it reads .local/gateway.toml)."""
    cli = Path(sys.executable).parent / "cdn-gateway"
    shown = os.path.relpath(cli) if cli.is_relative_to(Path.cwd()) else str(cli)
    command = [shown, "dev-token", "--sub", "demo"]
    if (config.local / "gateway.toml").resolve() != (Path.cwd() / ".local/gateway.toml").resolve():
        command[2:2] = ["--config", str(config.local / "gateway.toml")]
    return shlex.join(command)


def _curl(config: StackConfig) -> str:
    url = f"{config.edge_url}/v1/signed-url?path=tiles/0/0/0.png"
    return f'curl -s -H "Authorization: Bearer $({_command(config)})" {shlex.quote(url)}'


def main() -> int:
    config = StackConfig.from_env(Path.cwd())
    stack = Stack(config)
    phase, at_once = "starting", False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal phase, at_once
        if phase == "starting":  # abandon the start; the finally below stops what began
            phase = "stopping"
            raise KeyboardInterrupt
        if phase == "running":
            phase = "stopping"
        else:
            at_once = True  # a second Ctrl-C while stopping

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start()
        phase = "running"
        print(
            f"""
cdn-gateway is running.
  map demo     {config.edge_url}/demo/
  upload demo  {config.edge_url}/demo/upload.html
  photo demo   {config.edge_url}/demo/photos.html   (albums, sharing, revocation)
  edge         {config.edge_url}          (CloudFront stand-in; /v1/* and /demo/* go to the gateway)
  gateway      http://{config.host}:{config.gateway_port}   (API, /openapi.json, /metrics)
  local S3     http://{config.host}:{config.s3_port}   (SeaweedFS, bucket '{BUCKET}')
  SeaweedFS    {stack.ports()}   (its own servers, loopback only)
  logs         {config.local / "logs"}
A development token, and the API called with one (through the edge, as the demo pages do):
  {_command(config)}
  {_curl(config)}
Press Ctrl-C to stop everything.""",
            flush=True,
        )
        while phase == "running" and stack.running():
            time.sleep(0.2)
        if phase == "running":
            print(
                f"a component stopped unexpectedly; see {config.local / 'logs'}. Shutting down.", flush=True
            )
            return 1
        return 0
    except KeyboardInterrupt:
        return 130
    except RuntimeError as exc:
        print(f"make run: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        phase = "stopping"
        print("stopping (Ctrl-C again to kill what is left at once)...", flush=True)
        killed = stack.stop(at_once=lambda: at_once)
        if killed:
            why = "at once" if at_once else f"still running after {STOP_SECONDS:g} s"
            print(f"killed {', '.join(killed)} ({why})", flush=True)
        print("stopped.", flush=True)
