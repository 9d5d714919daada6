"""Stable windows (docs/design.md, "Stable windows"): every grant of one window has the same times.

Because the expiry depends only on the window and not on the moment of the request, the same
policy and key give byte-identical signatures across requests and across gateway instances.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Window:
    start: int
    end: int  # start of the next window: when clients should renew
    expires: int  # end + grace: the overlap in which old and new grants both work

    @property
    def refresh_after(self) -> int:
        return self.end

    def seconds_left(self, now: float) -> int:
        """Whole seconds until the window ends (never negative): a cache lifetime."""
        return max(0, int(self.end - now))


def stable_window(now: float, window: int, grace: int) -> Window:
    """The window holding ``now``; its grants expire at ``floor(now/W)*W + W + grace``."""
    if window <= 0 or grace < 0:
        raise ValueError("window must be positive and grace non-negative")
    start = int(now // window) * window
    return Window(start=start, end=start + window, expires=start + window + grace)
