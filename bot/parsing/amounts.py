"""Money and quantities as reps write them: 5000, 5千, 1.2万, 五千, ¥5,000元, 5k, 10件."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from bot.parsing.numbers import CN_DIGITS, normalize, to_int

# Deal.amount is DECIMAL(14, 2): below a trillion, to the fen.
MAX_AMOUNT = Decimal("999999999999.99")
MAX_QUANTITY = 1_000_000
CENT = Decimal("0.01")

_CURRENCY = re.compile(
    r"^(?:¥|￥|rmb|cny)?\s*(.+?)\s*(?:元|块钱|块|rmb|cny|人民币)?$", re.IGNORECASE
)
_PLAIN = re.compile(r"^\d+(?:\.\d+)?$")
_LATIN_UNIT = re.compile(r"^(\d+(?:\.\d+)?)([kw])$", re.IGNORECASE)
_MIXED = re.compile(rf"^[\d.{CN_DIGITS}]+$")
_COUNT_UNITS = (
    "件|个|台|套|箱|份|瓶|吨|只|张|本|盒|包|支|把|桶|袋|辆|批|组|条|双|对|部|片|卷|kg|公斤|千克"
)
_QUANTITY = re.compile(
    rf"^(?:[x×*]\s*|数量\s*)?(\d+|[{CN_DIGITS}]+)\s*({_COUNT_UNITS})?$",
    re.IGNORECASE,
)
# What a sentence typed or spoken without spaces glues together: 「3台每台1.5万呼吸机」.
# A number counts as a piece of its own only with a unit (or, bare, with three digits
# or more) and never inside a model name such as 「5G」 or 「M8」.
_SIGNED = r"(?:签的合同|签的|签约的?|签单的?|签了|成交的?)?"
_PER = r"(?:每[\u4e00-\u9fff]|单价[:：]?)"
_CN = "一二两三四五六七八九十"
# Money said the way people say it: 「3万5」, 「2万3千」, 「3千5」, 「1万2千5」 are 35 000,
# 23 000, 3 500 and 12 500 — a figure after 万 or 千 is the next place down, unless it
# counts (「12万5台」).
# (Only units that rarely begin a product's name: 「1万2包装机」 is 12 000.)
_COUNTS = "台|件|套|个|箱|批|辆|吨|瓶|盒|部"
_TAIL = rf"(?:\d+千\d+百?(?![\d.]|{_COUNTS})|\d+[千百]?(?![\d.]|{_COUNTS}))?"
# 「一万二千五」, 「两万三千五百」: the thousands (or hundreds) after 万, then their figure.
_CN_TAIL = (
    rf"(?:[{_CN}零][{_CN}零百千]*[千百](?![百千万]|{_COUNTS}))?"
    rf"(?:[{_CN}][千百]?(?![{_CN}百千万]|{_COUNTS}))?"
)
_YUAN = r"(?:元|块钱|块)?"
_GLUED_PIECE = re.compile(
    rf"\d{{4}}[-/.]\d{{1,2}}[-/.]\d{{1,2}}{_SIGNED}"
    rf"|\d{{1,2}}月\d{{1,2}}[日号]?{_SIGNED}"
    rf"|[{_CN}]{{1,3}}月[{_CN}]{{1,3}}[日号]{_SIGNED}"
    rf"|(?:昨天|前天|今天){_SIGNED}"
    rf"|{_PER}?[¥￥]?(?<![A-Za-z\d.])\d+(?:\.\d+)?"
    rf"(?:[万千]{_TAIL}{_YUAN}|元|块钱|块|[kKwW])(?![A-Za-z])"
    rf"|{_PER}[¥￥]?\d+(?:\.\d+)?(?![A-Za-z\d.])"
    # In characters, as speech recognition writes it: 「三万五」, 「一百二十万元」.
    rf"|{_PER}?[{_CN}][{_CN}零百千]*[万千]{_CN_TAIL}{_YUAN}"
    rf"|(?<![A-Za-z\d.])\d+(?:{_COUNT_UNITS})(?![A-Za-z])"
    # 「十台」, but not the 「三件」 of a 「三件套」.
    rf"|(?<![{_CN}百千万])[{_CN}]{{1,3}}(?:{_COUNT_UNITS})(?!{_COUNT_UNITS})"
    r"|[¥￥]?(?<![A-Za-z\d.])\d{3,}(?:\.\d+)?(?![A-Za-z\d.])",
    re.IGNORECASE,
)


class InvalidAmount(ValueError):
    """Looks like an amount but is none: zero, negative, too large, or finer than a fen."""


def parse_amount(text: str) -> Decimal | None:
    """The amount in yuan, None if ``text`` is not an amount at all.

    Raises :class:`InvalidAmount` for amounts no deal can have (0, 1.234 元, 10^13).
    """
    raw = normalize(text).replace(",", "")
    if raw.startswith("-") and parse_amount(raw[1:]) is not None:
        raise InvalidAmount(text)
    match = _CURRENCY.match(raw)
    if not match:
        return None
    body = match.group(1)
    value: Decimal | None = None
    if _PLAIN.match(body):
        value = Decimal(body)
    elif latin := _LATIN_UNIT.match(body):
        value = Decimal(latin.group(1)) * (1000 if latin.group(2).lower() == "k" else 10000)
    elif _MIXED.match(body) and not body.isdigit():
        try:
            import cn2an  # imported on first use: see bot.parsing.numbers

            converted = cn2an.cn2an(body, "smart")
        except (ValueError, KeyError, IndexError):
            return None
        value = Decimal(str(converted))
    if value is None:
        return None
    if value <= 0 or value > MAX_AMOUNT:
        raise InvalidAmount(text)
    try:
        exact = value.quantize(CENT)
    except InvalidOperation:
        raise InvalidAmount(text) from None
    if exact != value:
        raise InvalidAmount(text)
    return exact


def summed_amount(value: object) -> Decimal:
    """A SUM of amounts as the database hands it back, to the fen: SQLite sums decimals
    as floats (99 999.99 + 0.01 must be 100 000), and an empty sum is NULL."""
    return Decimal(str(value or 0)).quantize(CENT)


def parse_quantity(text: str, *, unit_required: bool = True) -> tuple[int, str] | None:
    """``"10件"`` → (10, "件"); ``"x3"`` → (3, ""). A bare number counts only when
    ``unit_required`` is off, since in 「成交 张三 5000 10」 a bare number is ambiguous."""
    match = _QUANTITY.match(normalize(text))
    if not match:
        return None
    marked = text.strip()[:1] in "x×*数" or match.group(2)
    if unit_required and not marked:
        return None
    count = to_int(match.group(1))
    if count is None or not 0 < count <= MAX_QUANTITY:
        return None
    return count, match.group(2) or ""


def unglue(token: str) -> list[str]:
    """A token that runs words and figures together, cut into its pieces:
    「3台每台1.5万呼吸机」 → ["3台", "每台1.5万", "呼吸机"]. A token with nothing to
    cut (「5G路由器」, 「1.5万」) comes back whole."""
    pieces: list[str] = []
    last = 0
    for match in _GLUED_PIECE.finditer(token):
        pieces += [token[last : match.start()], match.group(0)]
        last = match.end()
    pieces.append(token[last:])
    return [p for p in pieces if p]


def format_amount(value: Decimal) -> str:
    """¥12,000 or ¥1,234.50: what the card and confirmations show."""
    if value == value.to_integral_value():
        return f"¥{int(value):,}"
    return f"¥{value:,.2f}"
