"""What the verifier decided, step by step, for a caller that asks (``verify_request(..., trace)``).

The steps are the verifier's own decisions, recorded where it takes them, so an explanation built
from them (gateway/signing/explain.py) cannot disagree with the verdict.  Pure data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Step:
    """One decision: ``check`` names it, ``facts`` hold what it was decided on (names, values,
    times; for the ``signature`` step the public key, the signature and the signed bytes)."""

    check: str
    ok: bool
    facts: dict[str, Any]


@dataclass(slots=True)
class Trace:
    steps: list[Step] = field(default_factory=list)

    def add(self, check: str, ok: bool, **facts: Any) -> None:
        self.steps.append(Step(check, ok, facts))
