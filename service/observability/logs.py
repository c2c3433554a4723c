"""Log lines as text or JSON lines (``log_format``), the same for our loggers and uvicorn's.

Every line carries the request it belongs to (``request_id``, as in ``X-Request-ID`` and problem documents)
and the name of the API key that made it (``key``; never the key itself). JSON lines come from
python-json-logger: ``timestamp``, ``level``, ``logger``, ``message``, those two, and whatever fields a line
adds (the per-extraction line adds its usage, cost and timing as fields of their own).
"""

from __future__ import annotations

import logging
import logging.config
from contextvars import ContextVar
from typing import Any, Literal

REQUEST_ID: ContextVar[str | None] = ContextVar("claims_request_id", default=None)
KEY_NAME: ContextVar[str | None] = ContextVar("claims_key_name", default=None)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
JSON_FIELDS = "%(levelname)s %(name)s %(message)s %(request_id)s %(key)s"


class RequestContext(logging.Filter):
    """Put the current request's id and key name on every record (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Add the attributes; keep the record."""
        record.request_id = REQUEST_ID.get() or "-"
        record.key = KEY_NAME.get() or "-"
        return True


def log_config(level: str, log_format: Literal["text", "json"]) -> dict[str, Any]:
    """Return the ``logging.config`` dictionary for our loggers and uvicorn's, as text or JSON lines."""
    formatter: dict[str, Any] = (
        {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": JSON_FIELDS,
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": True,  # ISO 8601, UTC
        }
        if log_format == "json"
        else {"format": TEXT_FORMAT}
    )
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "line",
        "filters": ["request"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request": {"()": RequestContext}},
        "formatters": {"line": formatter},
        "handlers": {"line": handler},
        "root": {"level": level, "handlers": ["line"]},
        "loggers": {
            name: {"level": level, "handlers": ["line"], "propagate": False}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access")
        },
    }


def configure_logging(level: str, log_format: Literal["text", "json"]) -> None:
    """Send this process's log lines (ours and uvicorn's) to stderr as text or JSON lines."""
    logging.config.dictConfig(log_config(level, log_format))
