"""How the servers run: uvloop where it is installed (measured faster, make bench), and logs
that stay one line per event whatever a client sends."""

from __future__ import annotations

import asyncio
import logging

from aiohttp.http_exceptions import HttpProcessingError


def new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # e.g. Windows: the standard loop works, only slower
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _one_line_for_bad_requests(record: logging.LogRecord) -> bool:
    """aiohttp logs a request its parser refused with a traceback: a client's garbage is not our
    error, and anyone could fill the log with them.  Keep the message, drop the traceback."""
    if record.exc_info and isinstance(record.exc_info[1], HttpProcessingError):
        record.msg = f"{record.getMessage()}: {record.exc_info[1].message}"
        record.args, record.exc_info, record.exc_text = (), None, None
        record.levelno, record.levelname = logging.INFO, "INFO"
    return True


def configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    logging.getLogger("aiohttp.server").addFilter(_one_line_for_bad_requests)
