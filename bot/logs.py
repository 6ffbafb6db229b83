"""Structured logging with a request id carried through async calls."""

from __future__ import annotations

import contextvars
import json
import logging
import random
import re
from datetime import UTC, datetime

from bot.parsing.phones import mask_phone, phones_in_text

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

# Record attributes every LogRecord has; anything else was passed via ``extra``.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def new_request_id() -> str:
    # Told to users to quote, not a secret: the random module's generator (reseeded in
    # every forked worker) instead of a system call per message.
    return f"{random.getrandbits(48):012x}"


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


# Secrets this process knows (access tokens as they are fetched, configured
# secrets): never written to a log, whatever logger prints them (DEBUG SQL
# parameters included).
_secrets: set[str] = set()
_TOKEN_IN_URL = re.compile(r"(access_token=)[^&\s'\"]+")


def register_secret(value: str) -> None:
    if value and len(value) >= 8:
        _secrets.add(value)


def redact(text: str) -> str:
    """The text with known secrets, access tokens in URLs and phone numbers hidden."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, "[redacted]")
    text = _TOKEN_IN_URL.sub(r"\1[redacted]", text)
    spans = phones_in_text(text)
    for start, end in reversed(spans):
        digits = "".join(ch for ch in text[start:end] if ch.isdigit())
        text = text[:start] + mask_phone(digits) + text[end:]
    return text


class RedactFilter(logging.Filter):
    """Formats the message once and hides secrets and phone numbers in it."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def setup_logging(level: str = "INFO", fmt: str = "json") -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    handler.addFilter(RedactFilter())
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # aiohttp's access log duplicates our request metrics.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
