"""Free text at rest without phone numbers in clear.

Reps type phone numbers into follow-ups, customers into complaints, and both end
up in pushes queued in the outbox. These fields store every phone number found in
their text as an encrypted token (``⟦v1:…⟧``, AES-GCM under the data key) and give
the text back whole when read, so the rules and the chat see the real number and
the database file, its backups and the SQL log never do. The column stays a plain
text/JSON column: the schema does not change, only what is written into it.

The data key is installed once per process (:func:`use_data_key`, called when the
database is connected); without one, text is stored as it comes.
"""

from __future__ import annotations

import re
from typing import Any

from tortoise import fields

from bot.crypto import DecryptionError, FieldCipher, cipher_for
from bot.parsing.phones import phones_in_text

_cipher: FieldCipher | None = None
_TOKEN = re.compile(r"⟦(v1:[A-Za-z0-9_\-=]+)⟧")
# Shown instead of a number that cannot be decrypted (another key, no key).
UNREADABLE = "【号码已加密】"


def use_data_key(key: bytes | None) -> None:
    global _cipher
    _cipher = cipher_for(key) if key else None


def seal_text(text: str) -> str:
    if _cipher is None or not text:
        return text
    spans = phones_in_text(text)
    if not spans:
        return text
    out, last = [], 0
    for start, end in spans:
        out.append(text[last:start])
        out.append(f"⟦{_cipher.encrypt(text[start:end])}⟧")
        last = end
    out.append(text[last:])
    return "".join(out)


def open_text(text: str) -> str:
    if "⟦" not in text:
        return text

    def reveal(match: re.Match[str]) -> str:
        if _cipher is None:
            return UNREADABLE
        try:
            return _cipher.decrypt(match.group(1))
        except DecryptionError:
            return UNREADABLE

    return _TOKEN.sub(reveal, text)


def _walk(value: Any, fn: Any) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, dict):
        return {k: _walk(v, fn) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, fn) for v in value]
    return value


class SealedTextField(fields.TextField):
    """A TextField whose phone numbers are encrypted at rest."""

    def to_db_value(self, value: Any, instance: Any) -> Any:
        value = super().to_db_value(value, instance)
        return seal_text(value) if isinstance(value, str) else value

    def to_python_value(self, value: Any) -> Any:
        value = super().to_python_value(value)
        return open_text(value) if isinstance(value, str) else value

    # The same column as a TextField: migrations see no change.
    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        _, args, kwargs = super().deconstruct()
        return "tortoise.fields.data.TextField", args, kwargs

    def describe(self, serializable: bool) -> dict[str, Any]:
        return {**super().describe(serializable), "field_type": "TextField"}


class SealedJSONField(fields.JSONField):  # type: ignore[type-arg]
    """A JSONField whose string values have their phone numbers encrypted at rest."""

    def to_db_value(self, value: Any, instance: Any) -> Any:
        return super().to_db_value(_walk(value, seal_text), instance)

    def to_python_value(self, value: Any) -> Any:
        return _walk(super().to_python_value(value), open_text)

    def deconstruct(self) -> tuple[str, list[Any], dict[str, Any]]:
        _, args, kwargs = super().deconstruct()
        return "tortoise.fields.data.JSONField", args, kwargs

    def describe(self, serializable: bool) -> dict[str, Any]:
        return {**super().describe(serializable), "field_type": "JSONField"}
