"""One generated request, kept structured until it is rendered to the exact bytes sent."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EDGES = ("a", "b", "a-tls")


@dataclass
class Case:
    edge: str  # "a", "b" or "a-tls" (edge "a" behind TLS)
    peer: str  # the TCP source address (one is a trusted proxy)
    method: str
    path: str  # raw, as it goes on the wire (latin-1 for raw bytes)
    query: list[str] | None  # raw "name=value" parts; None: no "?"
    headers: list[tuple[str, str]]
    scheme: str  # the scheme the viewer means (for absolute-form targets)
    authority: str  # the authority the viewer means (Host, or the absolute-form target's)
    version: str = "HTTP/1.1"
    form: str = "origin"  # origin | absolute | asterisk | authority
    target_scheme: str = ""  # absolute-form: as written (may differ from scheme)
    fragment: str = ""
    body: bytes = b""
    grant: str = "none"
    held: list[Any] = field(default_factory=list)  # every Grant the generator put in the request
    steps: list[str] = field(default_factory=list)

    @property
    def tls(self) -> bool:
        return self.edge.endswith("-tls")

    def target(self) -> str:
        query = "" if self.query is None else "?" + "&".join(self.query)
        if self.form == "asterisk":
            return "*"
        if self.form == "authority":
            return self.authority if ":" in self.authority.rsplit("]", 1)[-1] else self.authority + ":443"
        prefix = f"{self.target_scheme or self.scheme}://{self.authority}" if self.form == "absolute" else ""
        return prefix + self.path + query + self.fragment

    def render(self) -> bytes:
        lines = [f"{self.method} {self.target()} {self.version}"]
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.body:
            lines.append(f"Content-Length: {len(self.body)}")
        lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    def set_header(self, name: str, value: str | None) -> None:
        self.headers = [(k, v) for k, v in self.headers if k.lower() != name.lower()]
        if value is not None:
            self.headers.append((name, value))
