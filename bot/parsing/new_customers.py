"""A new customer said as a sentence rather than typed as a command:
「加个客户叫王强，杭州某某公司的，电话138…」, 「帮我新建一个客户，名字叫刘芳…」."""

from __future__ import annotations

import re

# The verb and 「客户」, then what introduces the name (叫, 名字是 …).
_SAYS_NEW = re.compile(
    r"^\s*(?:请|麻烦)?(?:帮我|帮忙|给我)?再?"
    r"(?:新加|新增|新建|新录|添加|增加|创建|录入|登记|加|建|录|记)(?:一下)?"
    r"(?:一?个|一位|位)?(?:新的?)?客户(?:信息|资料)?[\s,，:：]*(?P<rest>.*?)\s*[。.!！]?\s*$"
)
# 「叫王强」, 「名字叫王强」, 「他叫王强」: the words before the name.
_NAME_INTRO = re.compile(
    r"^(?:他|她|对方)?(?:名字|姓名)?(?:叫做|名叫|叫|是)[\s:：]*|^(?:名字|姓名)[\s:：]+"
)
# 「杭州某某公司的」, 「是杭州某某公司的」: a company said in a sentence.
_COMPANY_FRAME = re.compile(r"^(?:是|在|来自)|(?:的人|的|上班|工作)$")


def says_new_customer(text: str) -> str | None:
    """What follows 「加个客户」 (and the like) when ``text`` asks for a new customer."""
    said = _SAYS_NEW.match(text)
    return said.group("rest") if said else None


def without_name_intro(text: str) -> str:
    """「叫王强，杭州某某公司的」 → 「王强，杭州某某公司的」."""
    return _NAME_INTRO.sub("", text.strip(), count=1)


def without_company_frame(company: str) -> str:
    """「是杭州某某公司的」 → 「杭州某某公司」."""
    bare = _COMPANY_FRAME.sub("", company)
    return bare if len(bare) >= 2 else company
