"""Run wrk (Debian's package) against a URL and parse its throughput and latency percentiles."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).parent / "lua"
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass(frozen=True)
class Load:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx/3xx answers plus socket errors

    def as_dict(self) -> dict[str, float]:
        return {
            "rps": round(self.requests_per_second, 1),
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "requests": self.requests,
            "errors": self.errors,
        }


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    if not match:
        raise ValueError(f"unparsable latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def _field(pattern: str, out: str, flags: int = 0) -> str:
    """The first group of a line wrk always prints; its absence means wrk's output changed."""
    match = re.search(pattern, out, flags)
    if not match:
        raise ValueError(f"wrk output has no match for {pattern!r}:\n{out}")
    return match.group(1)


def run(
    url: str,
    *,
    script: str | None = None,
    seconds: int = 6,
    connections: int = 32,
    threads: int = 1,
    env: dict[str, str] | None = None,
) -> Load:
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    if script:
        command += ["-s", str(LUA / script)]
    done = subprocess.run(
        [*command, url], capture_output=True, text=True, timeout=seconds + 60, env=env, check=True
    )
    out = done.stdout
    rps = float(_field(r"Requests/sec:\s+([\d.]+)", out))
    total = int(_field(r"(\d+) requests in", out))
    p50 = _ms(_field(r"^\s*50%\s+(\S+)", out, re.M))
    p99 = _ms(_field(r"^\s*99%\s+(\S+)", out, re.M))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = (int(non2xx.group(1)) if non2xx else 0) + (
        sum(int(g) for g in sockets.groups()) if sockets else 0
    )
    return Load(rps, p50, p99, total, errors)
