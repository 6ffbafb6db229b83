"""A complaint handed to someone, said as a sentence: 「把投诉TS202611250001交给刘洋处理」,
「0001这单转给刘洋」."""

from __future__ import annotations

import re

_HANDED = re.compile(
    r"^\s*(?:请|麻烦)?(?:把|将)?\s*(?:这个|这张|这单)?(?P<said>投诉单?|工单|单子)?\s*号?\s*"
    r"(?P<no>TS\s*-?\s*\d{8}\s*-?\s*\d{4,6}|\d{3,6})(?!\d)\s*号?"
    r"(?P<after>这单|这个|这张|的?投诉单?|单子)?\s*"
    r"(?:转交给|转给|交给|分给|指派给|派给|给)\s*(?P<name>[\u4e00-\u9fffA-Za-z·]{2,10}?)\s*"
    r"(?:去|来)?(?:处理|跟进|负责|跟|办|看看|看)?(?:一下)?(?:吧|啊)?\s*[。.!！]?\s*$",
    re.IGNORECASE,
)


def handed_over(text: str) -> tuple[str, str] | None:
    """(the ticket as said — its number or last digits —, the colleague's name), when
    ``text`` hands a complaint over. Last digits alone must come with 投诉 or 单."""
    said = _HANDED.match(text)
    if said is None:
        return None
    number = said.group("no")
    if number[:2].upper() != "TS" and not (said.group("said") or said.group("after")):
        return None
    return number, said.group("name")
