"""The event loop the servers run on: uvloop where it is installed (measured faster, make bench)."""

from __future__ import annotations

import asyncio


def new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # e.g. Windows: the standard loop works, only slower
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()
