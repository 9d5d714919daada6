"""Start-up checks for settings that look fine but fail later in a browser or on disk.

Cookies scoped to a ``Domain`` a browser will not accept are dropped without a word (RFC 6265
section 5.3 step 6: "ignore the cookie entirely"), so ``cookies.domain`` is judged here as a
browser judges it, and each refusal says what to write instead.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import urlsplit

# A host name as browsers store it (RFC 1123 labels); an underscore is tolerated as they do.
_LABEL = re.compile(r"[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def domain_match(host: str, domain: str) -> bool:
    """RFC 6265 section 5.1.3: identical, or ``host`` ends with ``.domain`` and is not an IP."""
    host, domain = host.lower(), domain.lower()
    return host == domain or (host.endswith("." + domain) and not _is_ip(host))


def _parent(host: str) -> str:
    """The domain one label above ``host`` (``cdn.example.com`` -> ``example.com``), when it has two."""
    labels = host.split(".")
    return ".".join(labels[1:]) if len(labels) > 2 else host


def _bare_host(value: str) -> str:
    """What the operator most likely meant: the host alone, without scheme, port, path or dots."""
    parts = urlsplit(value if "//" in value else "//" + value)
    try:
        host = parts.hostname or ""
    except ValueError:
        host = ""
    return host.strip(".")


def cookie_domain_problem(domain: str, cdn_host: str) -> str | None:
    """Why a browser would drop cookies with ``Domain=<domain>`` set for the CDN host, or None."""
    said = f"cookies.domain {domain!r}"
    cdn = cdn_host.lower()
    if _is_ip(cdn):
        return f"{said}: the CDN host {cdn} is an IP address, which takes no domain cookies; leave it empty"
    instead = _bare_host(domain)
    hint = f'write "{instead}"' if instead else "write a host name such as example.com"
    if "://" in domain:
        return f"{said} must be a host name without a scheme: {hint}"
    if "/" in domain or "?" in domain or "#" in domain:
        return f"{said} must not hold a path (that is cookies.path): {hint}"
    if ":" in domain and not _is_ip(domain):
        return f"{said} must not hold a port (cookies ignore ports): {hint}"
    if _is_ip(domain):
        return f"{said} is an IP address, which browsers never accept as a cookie domain; leave it empty"
    name = domain[1:] if domain.startswith(".") else domain  # one leading dot is ignored (5.2.3)
    if name.startswith(".") or name.endswith("."):
        return f"{said} may hold one leading dot, no trailing or doubled one: {hint}"
    if not name.isascii():
        try:
            ascii_name = name.encode("idna").decode("ascii")
        except UnicodeError:
            ascii_name = ""
        return f"{said} must be written in ASCII (its IDNA form{f', {ascii_name!r}' if ascii_name else ''})"
    labels = name.lower().split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        return f"{said} must be a host name: letters, digits and hyphens between dots"
    if len(labels) < 2:
        better = f'write "{_parent(cdn)}" or ' if "." in cdn else ""
        return f"{said} is a single label, which browsers refuse as a cookie domain: {better}leave it empty"
    if not domain_match(cdn, name):
        return (
            f"{said} does not cover the CDN host {cdn} (signing.cdn_base_url), so browsers would never "
            f'send it the cookies: write "{_parent(cdn)}" (a parent domain of the CDN host) or leave it empty'
        )
    return None


def _same_parent(a: str, b: str) -> bool:
    """Whether two hosts share a parent of two labels: a stand-in for "same site" without the
    public suffix list (it takes ``a.co.uk`` and ``b.co.uk`` for one site)."""
    if _is_ip(a) or _is_ip(b):
        return a == b
    return a.split(".")[-2:] == b.split(".")[-2:] and "." in a and "." in b


def cookie_sharing_warning(domain: str, cdn_host: str, origins: Iterable[str]) -> str | None:
    """One line naming the CORS origins whose pages cannot get the CDN's cookies, or None.

    With ``cookies.domain`` set, an origin outside it is cross-site to the CDN host; host-only
    cookies (no domain) reach the CDN from pages of the same site.  Browsers do not send
    ``SameSite=Lax`` cookies with cross-site ``<img>`` requests, and third-party cookie blocking
    drops them whatever ``SameSite`` says.
    """
    scope = domain.lstrip(".").lower()
    cdn = cdn_host.lower()
    outside = []
    for origin in origins:
        host = (urlsplit(origin).hostname or "").lower()
        shared = domain_match(host, scope) if scope else host == cdn or _same_parent(host, cdn)
        if not shared:
            outside.append(origin)
    if not outside:
        return None
    where = f"outside cookies.domain {scope!r}" if scope else f"on another site than the CDN host {cdn}"
    return (
        f"cookies: pages on {', '.join(outside)} (cors.origins) are {where}, so their requests to the "
        f"CDN go without its cookies (SameSite, third-party cookie blocking): serve the app under "
        f"{scope or _parent(cdn)}"
    )


def missing_path(label: str, value: Path | str, base_dir: Path, hint: str) -> str | None:
    """``label "value" does not exist (resolved to /abs): <hint>``, or None when it exists.

    ``hint`` may name the resolved path as ``{path}``."""
    resolved = (base_dir / value).resolve()
    if resolved.exists():
        return None
    return f'{label} "{value}" does not exist (resolved to {resolved}): {hint.format(path=resolved)}'
