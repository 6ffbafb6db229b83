"""A 1-5 satisfaction answer as customers type it on a phone: ``5``, ``５``, ``五分``,
``4分 还行``, ``4 送货有点慢`` — a score and what they said with it.

Shared by the complaint rating after closing and the after-sale survey, so both
questions understand the same answers.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_CN_DIGITS = str.maketrans("一二三四五", "12345")

# A digit alone, a digit with 分/星, or a digit and a separator: "2台新机器又坏了" or
# "5号下的单还没到" are messages, not ratings.
_SEP = r"[\s,，。.:：!！、]"
# A decimal (「3.5」) is not a digit and a comment: it is no 1-5 answer at all.
_RATING = re.compile(
    rf"^([1-5])(?!\.\d)(?:\s*(?:分|星){_SEP}*(.*)|{_SEP}+(.*)|)$",
    re.DOTALL,
)
COMMENT_MAX = 200


@dataclass(frozen=True)
class Rating:
    score: int
    comment: str


def normalized(text: str) -> str:
    """Full-width digits and spaces as typed on phones become plain ones."""
    return unicodedata.normalize("NFKC", text).strip()


def parse_rating(text: str) -> Rating | None:
    """The score and comment of a 1-5 answer, or None when ``text`` is not one."""
    t = normalized(text)
    # 「五分」「四 还行」: a Chinese numeral stands for the digit only at the start.
    if t[:1] in "一二三四五" and t:
        t = t[0].translate(_CN_DIGITS) + t[1:]
    match = _RATING.match(t)
    if match is None:
        return None
    comment = (match.group(2) or match.group(3) or "").strip()
    return Rating(int(match.group(1)), _as_typed(text, comment)[:COMMENT_MAX])


def _as_typed(text: str, comment: str) -> str:
    """``comment`` (normalised) as the customer typed it: 「，」 stays 「，」."""
    if not comment:
        return ""
    original = text.strip()
    for start in range(len(original)):
        if normalized(original[start:]) == comment:
            return original[start:].strip()
    return comment
