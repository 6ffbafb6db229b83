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


# A number read out digit by digit (「一五八一二三四五六七八」, 「幺三八 一二三四 …」): ten
# to twelve digits, said or typed, at least one of them said.
_SPOKEN_DIGITS = "零〇一二三四五六七八九幺两"
_SPOKEN_RUN = re.compile(
    rf"(?<![\d{_SPOKEN_DIGITS}])[\d{_SPOKEN_DIGITS}](?:[\s-]?[\d{_SPOKEN_DIGITS}]){{9,11}}"
    rf"(?![\d{_SPOKEN_DIGITS}])"
)
_HAS_SPOKEN = re.compile(f"[{_SPOKEN_DIGITS}]")


def _spoken_phone(said: str) -> str | None:
    """The number ``said`` digit by digit, when it is a valid phone number."""
    import cn2an  # ~130 ms to import: only when a number is said in words

    try:
        digits = str(cn2an.cn2an(re.sub(r"[\s-]", "", said), "direct"))
    except (ValueError, KeyError, IndexError):
        return None
    return digits if _MOBILE.match(digits) or _LANDLINE.match(digits) else None


def spoken_phones(text: str) -> list[tuple[int, int, str]]:
    """(start, end, number) of each phone number read out digit by digit in ``text``."""
    if not _HAS_SPOKEN.search(text):
        return []
    found = []
    for run in _SPOKEN_RUN.finditer(text):
        if _HAS_SPOKEN.search(run.group()) and (phone := _spoken_phone(run.group())):
            found.append((run.start(), run.end(), phone))
    return found


def with_spoken_phones(text: str) -> str:
    """``text`` with the numbers read out digit by digit written in digits."""
    for start, end, phone in reversed(spoken_phones(text)):
        text = f"{text[:start]}{phone}{text[end:]}"
    return text


def looks_like_phone(text: str) -> bool:
    """Digits (with + - space or brackets) long enough to be meant as a phone number."""
    return bool(_PHONEISH.match(unicodedata.normalize("NFKC", text).strip()))


def parse_phone(text: str) -> str | None:
    """The normalized number if ``text`` is a valid mainland mobile or landline number
    (also read out: 「幺三八一二三四五六七八」)."""
    text = with_spoken_phones(text)
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
    spans = [m.span() for m in _IN_TEXT.finditer(normal)]
    # Read out digit by digit (voice input): sealed and found like the written ones.
    said = [
        (start, end)
        for start, end, _ in spoken_phones(normal)
        if not any(start < e and s < end for s, e in spans)
    ]
    return sorted(spans + said) if said else spans
