"""``帮助``: the commands the sender's role may use, and the menu's help button.

Each handler module registers its commands here with the roles allowed to use
them, so help never lists a command that does not exist or is not allowed.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.context import Context
from bot.filters import Command, EventIs, EventKeyIs
from bot.incoming import Incoming
from bot.router import Router

router = Router("help")


@dataclass(frozen=True)
class HelpEntry:
    usage: str
    description: str
    roles: frozenset[str]


_ENTRIES: list[HelpEntry] = []

STAFF_ROLES = ("rep", "manager", "admin")


def register_help(usage: str, description: str, *roles: str) -> None:
    _ENTRIES.append(HelpEntry(usage, description, frozenset(roles)))
    _TEXTS.clear()


# The text for each role, built once: every stranger's first message asks for it.
_TEXTS: dict[str, str] = {}


def help_text(role: str) -> str:
    text = _TEXTS.get(role)
    if text is None:
        text = _TEXTS[role] = _help_text(role)
    return text


def _help_text(role: str) -> str:
    lines = [f"· {e.usage} —— {e.description}" for e in _ENTRIES if role in e.roles]
    if role == "stranger":
        head = "您好！这里是客户服务助手。"
        tail = "如果您是公司员工，请发送「绑定 邀请码」完成绑定。"
    elif role == "customer":
        head = "您好！这里是客户服务助手。"
        tail = "有任何问题都可以直接留言。"
    else:
        head = "你可以发送以下命令："
        tail = "命令和内容之间用空格隔开（连着写也能认出来）。"
    body = "\n".join(lines)
    return "\n".join(part for part in (head, body, tail) if part)


register_help("帮助", "查看可用的命令", *STAFF_ROLES)


@router.message(Command("帮助", "help", "?", "？", "菜单"), read_only=True)
async def show_help(msg: Incoming, ctx: Context) -> str:
    return help_text(ctx.sender.role)


@router.message(EventIs("click"), EventKeyIs("HELP", "help"), read_only=True)
async def menu_help(msg: Incoming, ctx: Context) -> str:
    return help_text(ctx.sender.role)
