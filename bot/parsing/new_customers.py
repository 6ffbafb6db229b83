"""A new customer as a rep gives it: 「新客户 张三 13800138000 上海某某贸易 餐饮 VIP
生日3月5日」 in any order (:func:`parse_new_customer`), or said as a sentence rather
than typed as a command: 「加个客户叫王强，杭州某某公司的，电话138…」, 「帮我新建一个客户，
名字叫刘芳…」 (:func:`says_new_customer`)."""

from __future__ import annotations

import re
from typing import Any

from bot.parsing.birthdays import InvalidBirthday, parse_birthday
from bot.parsing.phones import looks_like_phone, parse_phone, phones_in_text, with_spoken_phones
from models.enums import Grade

GRADE_WORDS = {
    "vip": Grade.VIP, "重要": Grade.VIP, "大客户": Grade.VIP, "重点": Grade.VIP,
    "普通": Grade.NORMAL, "一般": Grade.NORMAL,
    "潜在": Grade.POTENTIAL, "意向": Grade.POTENTIAL,
}  # fmt: skip
COMPANY_HINT = re.compile(
    r"公司|集团|贸易|科技|有限|工厂|厂$|店$|中心$|医院|学校|酒店|商行|事务所|"
    # 「ABC Trading」, 「Acme Co., Ltd.」: a company's word in Latin letters.
    r"(?i:\b(?:trading|ltd|co|inc|corp|corporation|company|group|tech|technology|llc|"
    r"limited|industries|international|holdings|logistics|electronics|enterprises?|gmbh)\b)"
)
# Where companies are, as their names begin (「杭州某某公司」): provinces and big cities.
_PLACES = (
    "北京|天津|上海|重庆|河北|山西|辽宁|吉林|黑龙江|江苏|浙江|安徽|福建|江西|山东|河南|"
    "湖北|湖南|广东|广西|海南|四川|贵州|云南|陕西|甘肃|青海|宁夏|新疆|西藏|内蒙古|香港|"
    "澳门|台湾|杭州|宁波|温州|绍兴|嘉兴|湖州|金华|台州|义乌|南京|苏州|无锡|常州|南通|扬州|"
    "徐州|昆山|合肥|福州|厦门|泉州|南昌|济南|青岛|烟台|潍坊|郑州|武汉|长沙|广州|深圳|东莞|"
    "佛山|珠海|中山|惠州|汕头|海口|三亚|成都|贵阳|昆明|西安|兰州|西宁|南宁|银川|石家庄|"
    "太原|沈阳|大连|长春|哈尔滨|呼和浩特|乌鲁木齐|拉萨"
)
# 「王强杭州某某公司的」, 「王小明是上海某某贸易的」: a person's name glued to their company,
# told apart where the company's place (or 是 / 在 / 来自) begins.
_PERSON_THEN_COMPANY = re.compile(
    rf"^([\u4e00-\u9fff]{{2,4}}?)(?:(?:是|在|来自)(.{{2,}})|((?:{_PLACES}).+))$"
)


class DraftError(ValueError):
    """What the rep must fix (``kind``: usage, name, phone, birthday) and the words
    that were wrong; nothing has been saved."""

    def __init__(self, kind: str, said: str = "") -> None:
        super().__init__(kind, said)
        self.kind, self.said = kind, said


_NAME_THEN_PHONE = re.compile(r"^(\D+?)(\+?\d[\d\-]{6,})$")
# Words a birthday is written with (「生日3月5日」, 「农历八月十五」).
_BIRTHDAY_OPENERS = ("生日", "农历", "阴历", "公历")
_PHONE_WORD = re.compile(r"(?:电话|手机号码?|手机|联系方式)\s*[:：是]?\s*(?=\+?\d)")
_COMPANY_OF = re.compile(r"^([\u4e00-\u9fffA-Za-z0-9]{2,})的([\u4e00-\u9fff]{2,4})$")


def _could_be_name(token: str) -> bool:
    return not (
        looks_like_phone(token)
        or COMPANY_HINT.search(token)
        or token.lower() in GRADE_WORDS
        or token.startswith(_BIRTHDAY_OPENERS)
    )


_PHONE_GAPS = re.compile(r"[\s-]")
# A word of a name written in Latin letters: 「Tom」, 「O'Neil」, 「J.」.
_LATIN_WORD = re.compile(r"^[A-Za-z][A-Za-z.'\-]*$")


def _join_latin_names(tokens: list[str]) -> list[str]:
    """「Tom Lee」 is one name, not a name and a company: neighbouring words in Latin
    letters (a grade such as VIP aside) become one token — up to a company's words
    (:func:`_company_apart`)."""
    joined: list[str] = []
    for token in tokens:
        if (
            joined
            and _LATIN_WORD.match(token)
            and all(_LATIN_WORD.match(w) for w in joined[-1].split(" "))
            and token.lower() not in GRADE_WORDS
            and joined[-1].lower() not in GRADE_WORDS
        ):
            joined[-1] = f"{joined[-1]} {token}"
        else:
            joined.append(token)
    return [part for token in joined for part in _company_apart(token)]


def _company_apart(words: str) -> list[str]:
    """「Tom Lee ABC Trading」 → 「Tom Lee」, 「ABC Trading」: the company is its words
    (Trading, Ltd, Group …) and what names it just before them — from a word in
    capitals (ABC), else the one word before; who comes before or after is apart."""
    parts = words.split(" ")
    kinds = [COMPANY_HINT.fullmatch(w.rstrip(".,")) is not None for w in parts]
    if len(parts) < 2 or not any(kinds):
        return [words]
    first = kinds.index(True)
    end = first
    while end < len(parts) and kinds[end]:
        end += 1
    capitals = [i for i in range(first) if len(parts[i]) >= 2 and parts[i].isupper()]
    start = capitals[0] if capitals else max(first - 1, 0)
    pieces = [parts[:start], parts[start:end], parts[end:]]
    return [" ".join(p) for p in pieces if p]


def parse_new_customer(args: str) -> dict[str, Any]:
    """「张三 13800138000 上海某某贸易 餐饮 VIP 生日3月5日」 → a draft (JSON-friendly,
    kept in the dialog state). Raises :class:`DraftError` with what to correct."""
    # A number read out digit by digit (「一五八一二三四五六七八」) is written in digits.
    args = with_spoken_phones(args)
    # A phone written with spaces (「138 0013 8000」) or glued between name and company
    # (「王小明13800138000某某科技」) becomes a token of its own.
    for start, end in reversed(phones_in_text(args)):
        phone = _PHONE_GAPS.sub("", args[start:end])
        args = f"{args[:start]} {phone} {args[end:]}"
    # 「…刘芳电话139…」: the word before a number says what it is, and is no name.
    args = without_name_intro(_PHONE_WORD.sub(" ", args))
    tokens = _join_latin_names([t for t in re.split(r"[\s\u3000,，;；]+", args.strip()) if t])
    if not tokens:
        raise DraftError("usage")
    # The name is the first word that is not a number, a grade, a birthday or a company
    # (「新客户 13712345678 陈大文 宁波甬江贸易有限公司」); a customer that is a company
    # (every word a company's) is named by the first.
    name = tokens.pop(next((i for i, t in enumerate(tokens) if _could_be_name(t)), 0))
    # 「杭州绿源环保的刘芳」: the company's person.
    of = _COMPANY_OF.match(name)
    if of:
        name = of.group(2)
        tokens.insert(0, of.group(1))
    elif COMPANY_HINT.search(name) and (glued_company := _PERSON_THEN_COMPANY.match(name)):
        # Said with no pause between the person and the company.
        name = glued_company.group(1)
        tokens.insert(0, glued_company.group(2) or glued_company.group(3))
    glued = _NAME_THEN_PHONE.match(name)
    if glued:
        # 「张三13800138000」 typed or spoken without a space: the digits are the phone,
        # never part of the (unencrypted) name.
        name = glued.group(1)
        tokens.insert(0, glued.group(2))
    if (
        len(name) > 20
        or looks_like_phone(name)
        or name.lower() in GRADE_WORDS
        or sum(ch.isdigit() for ch in name) >= 3
    ):
        raise DraftError("name", name)
    draft: dict[str, Any] = {"name": name, "phone": None, "company": None, "industry": ""}
    draft |= {"grade": Grade.POTENTIAL.value, "birthday": None, "notes": []}
    free: list[str] = []
    while tokens:
        token = tokens.pop(0)
        if token in ("生日", "农历生日") and tokens:
            token = ("农历" if token == "农历生日" else "") + tokens.pop(0)
            draft["birthday"] = _birthday_or_error(token)
        elif token.startswith(_BIRTHDAY_OPENERS):
            draft["birthday"] = _birthday_or_error(token)
        elif looks_like_phone(token):
            phone = parse_phone(token)
            if phone is None:
                raise DraftError("phone", token)
            draft["phone"] = phone
        elif token.lower() in GRADE_WORDS:
            draft["grade"] = GRADE_WORDS[token.lower()].value
        else:
            free.append(token)
    # The company is the token that says so (…公司, …贸易), else the first free one;
    # a short one after it is the industry; anything more goes to the notes.
    company = next((t for t in free if COMPANY_HINT.search(t)), free[0] if free else None)
    if company is not None:
        free.remove(company)
        # 「杭州某某公司的」, as said in a sentence.
        draft["company"] = without_company_frame(company)
    elif COMPANY_HINT.search(name):
        # 「新客户 杭州某某公司 138…」: the customer is the company itself; asking
        # 「杭州某某公司在哪家公司？」 made no sense.
        draft["company"] = name
    if free and len(free[0]) <= 6:
        draft["industry"] = free.pop(0)
    draft["notes"] = " ".join(free)
    return draft


def _birthday_or_error(text: str) -> list[Any]:
    try:
        birthday = parse_birthday(text)
    except InvalidBirthday:
        birthday = None
    if birthday is None:
        raise DraftError("birthday", text)
    return [birthday.month, birthday.day, birthday.year, birthday.lunar, birthday.leap]


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
