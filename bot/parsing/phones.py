"""Phone numbers in messages and spreadsheets: which text is a phone, and whether
it is a number a customer can actually have."""

from __future__ import annotations

import re
import unicodedata

from bot.crypto import normalize_phone

_PHONEISH = re.compile(r"^\+?[\d\s\-()（）]{7,20}$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
# Landline with trunk prefix: 010-12345678, 0571-8888888 (10 to 12 digits in all).
_LANDLINE = re.compile(r"^0[1-9]\d{8,10}$")


def looks_like_phone(text: str) -> bool:
    """Digits (with + - space or brackets) long enough to be meant as a phone number."""
    return bool(_PHONEISH.match(unicodedata.normalize("NFKC", text).strip()))


def parse_phone(text: str) -> str | None:
    """The normalized number if ``text`` is a valid mainland mobile or landline number."""
    if not looks_like_phone(text):
        return None
    digits = normalize_phone(text)
    if _MOBILE.match(digits) or _LANDLINE.match(digits):
        return digits
    return None


def mask_phone(phone: str) -> str:
    """「138****8000」: enough to recognise a number, not enough to call it."""
    if len(phone) >= 11:
        return phone[:3] + "****" + phone[-4:]
    if len(phone) > 4:
        return "*" * (len(phone) - 4) + phone[-4:]
    return "****"
