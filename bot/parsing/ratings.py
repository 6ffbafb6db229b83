"""A 1-5 satisfaction answer as customers type it on a phone: ``5``, ``５``, ``五分``,
``4分 还行``, ``4 送货有点慢``, or words alone: ``非常满意``, ``还行吧``, ``差评`` — a
score and what they said with it.

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

# The words of the usual five-level scale (非常满意 … 非常不满意) and their everyday
# kin, as customers answer 「请打 1-5 分」 without a number.
_WORD_SCORES: dict[str, int] = {
    **dict.fromkeys(
        ("非常满意", "很满意", "特别满意", "十分满意", "超满意", "超级满意", "满分",
         "五星好评", "好评", "非常好", "特别好", "太棒了"), 5),
    **dict.fromkeys(
        ("满意", "比较满意", "挺满意", "还算满意", "不错", "还不错", "挺好", "比较好",
         "蛮好"), 4),
    **dict.fromkeys(
        ("一般", "一般般", "还行", "还可以", "凑合", "马马虎虎", "过得去", "还好"), 3),
    **dict.fromkeys(("不太满意", "不大满意", "不满意", "不怎么样", "不太好", "比较差"), 2),
    **dict.fromkeys(
        ("非常不满意", "很不满意", "特别不满意", "很差", "太差", "非常差", "特别差", "极差",
         "差评", "太烂", "很烂"), 1),
}  # fmt: skip
# The words alone (a particle may follow: 「还行吧」), or with a comment after a break:
# 「非常满意，师傅很专业」. Longest first: 「非常不满意」 is not 「满意」.
_WORD_RATING = re.compile(
    "^(" + "|".join(sorted(_WORD_SCORES, key=len, reverse=True)) + ")"
    rf"[吧啊呀呢哦的了啦哈]*(?:{_SEP}+(.*))?{_SEP}*$",
    re.DOTALL,
)


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
    worded = _WORD_RATING.match(t)
    if worded is not None:
        # The words are the customer's opinion: kept whole as the comment.
        return Rating(_WORD_SCORES[worded.group(1)], text.strip()[:COMMENT_MAX])
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
