"""The edge stands alone, as CloudFront does: its entry point loads none of the gateway's modules."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import json, sys
from gateway.cli import build_parser
build_parser()  # every sub-command registered, as `cdn-gateway edge` does
import gateway.cli.edge
from gateway.edge import accesslog, app, settings
from gateway.common import runtime
print(json.dumps(sorted(m for m in sys.modules if m.startswith(("gateway", "boto3")))))
"""
SERVICE_PARTS = (
    "gateway.service",
    "gateway.credentials",
    "gateway.rules",
    "gateway.keys.lifecycle",
    "gateway.keys.publish",
    "boto3",
)


def test_the_edge_entry_point_loads_no_gateway_service_module() -> None:
    loaded = json.loads(
        subprocess.run(
            [sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60
        ).stdout
    )
    assert "gateway.edge.app" in loaded and "gateway.keys.watch" in loaded
    assert [m for m in loaded if m.startswith(SERVICE_PARTS)] == []
