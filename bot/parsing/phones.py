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


# A phone number inside free text ("客户新号码 138 0013 8000，打这个"): a mainland
# mobile (optionally +86, spaces or dashes between groups) or a landline with its
# area code. Not part of a longer run of digits (ticket numbers, amounts).
_IN_TEXT = re.compile(
    r"(?<![\d＋+])(?:(?:\+|00)?86[\s-]?)?1[3-9]\d(?:[\s-]?\d){8}(?!\d)"
    r"|(?<!\d)0[1-9]\d{1,2}[\s-]?\d{7,8}(?!\d)"
)


def phones_in_text(text: str) -> list[tuple[int, int]]:
    """(start, end) of each phone number written inside ``text``."""
    normal = unicodedata.normalize("NFKC", text)
    if len(normal) != len(text):  # full-width forms changed the length: scan as is
        normal = text
    return [m.span() for m in _IN_TEXT.finditer(normal)]
