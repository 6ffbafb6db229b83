"""Numbers as people type or say them: ``12``, ``十二``, ``两``, ``廿三``, full-width ``１２``."""

from __future__ import annotations

import re
import unicodedata

CN_DIGITS = "零〇一二两三四五六七八九十百千万廿卅"
# One number written in digits or in Chinese numerals, for use inside larger patterns.
NUM = rf"(?:\d+|[{CN_DIGITS}]+)"

_DIGITS = re.compile(r"^\d+$")
_CHINESE = re.compile(rf"^[{CN_DIGITS}]+$")


def normalize(text: str) -> str:
    """NFKC (full-width digits and letters to ASCII), trimmed, without the sentence-final
    punctuation speech recognition adds."""
    return unicodedata.normalize("NFKC", text).strip().rstrip("。.!！?？")


def to_int(text: str) -> int | None:
    """``"12"``/``"十二"``/``"两"`` → 12/12/2; anything else → None."""
    text = normalize(text)
    if _DIGITS.match(text):
        return int(text)
    if not _CHINESE.match(text):
        return None
    try:
        import cn2an  # ~130 ms to import: only when a number is written in words

        value = cn2an.cn2an(text, "smart")
    except (ValueError, KeyError, IndexError):
        return None
    return int(value) if float(value).is_integer() else None
