"""The last router: greetings on subscribe, a polite word for anything the bot has
no handler for, and silence for events that need no answer."""

from __future__ import annotations

from bot.context import Context
from bot.filters import AnyMessage, Command, EventIs, KindIs, Regex
from bot.incoming import Incoming, Kind, Reply
from bot.parsing.intent import is_greeting, is_thanks
from bot.router import Router
from handlers.customer_pick import looks_like_pick
from models.customers import mark_reachable

router = Router("fallback")


def _empty_text() -> Regex:
    return Regex(r"^\s*$")


WELCOME = "您好，欢迎关注！发送「帮助」查看我能为您做什么。"
WELCOME_BACK = "欢迎回来！发送「帮助」查看我能为您做什么。"
NOT_UNDERSTOOD_STAFF = "没有看懂「{text}」。发送「帮助」查看可用的命令。"
NO_LIST_WAITING = (
    "现在没有等你选择的列表：中间发了别的消息，之前的列表就取消了。请重新发送原来的命令。"
)
GREETING_STAFF = (
    "你好，{name}！发送「待办」看今天要做的事，「查 客户名」看客户，「帮助」看全部命令。"
)
THANKS_STAFF = "不客气！"
# A customer's words we cannot place (and their 你好 / 在吗): say what they can ask for,
# and that a person is one word away.
NOT_UNDERSTOOD = (
    "您好！有什么可以帮您？直接说需求就行，比如「想了解报价」「开发票」「预约安装」；"
    "有问题请说「投诉 …」，查进度请说「进度」，需要人工请回复「转人工」，"
    "发送「帮助」看全部功能。"
)
UNSUPPORTED = "暂时还不能处理{what}，请用文字告诉我，或发送「帮助」查看可用的命令。"
NOTHING_TO_CANCEL = "好的。当前没有进行中的操作需要取消。"
VOICE_UNRECOGNISED = "没能听清这条语音，请再说一遍或改用文字。"

KIND_LABEL = {
    Kind.IMAGE: "图片",
    Kind.VOICE: "语音",
    Kind.VIDEO: "视频",
    Kind.SHORTVIDEO: "小视频",
    Kind.LOCATION: "位置消息",
    Kind.LINK: "链接",
    Kind.FILE: "文件",
}


@router.message(EventIs("subscribe"))
async def subscribed(msg: Incoming, ctx: Context) -> str:
    if msg.channel == "oa":  # reachability is about customers' openids
        await mark_reachable(msg.sender, reachable=True)
    return WELCOME


@router.message(EventIs("unsubscribe"))
async def unsubscribed(msg: Incoming, ctx: Context) -> Reply:
    # Pushes to someone who left would only come back as 43004: stop them now.
    if msg.channel == "oa":
        await mark_reachable(msg.sender, reachable=False)
    return Reply.none()


@router.message(EventIs("scan"), read_only=True)
async def scanned(msg: Incoming, ctx: Context) -> str:
    return WELCOME_BACK


@router.message(KindIs(Kind.EVENT), read_only=True)
async def other_event(msg: Incoming, ctx: Context) -> Reply:
    # unsubscribe, LOCATION reports, VIEW, template-send receipts, unknown events:
    # WeChat expects an acknowledgement, the user expects no message.
    return Reply.none()


@router.message(Command("取消", "cancel", "算了"), read_only=True)
async def nothing_to_cancel(msg: Incoming, ctx: Context) -> str:
    # Every dialog handles its own 取消; reaching here means no dialog is open.
    return NOTHING_TO_CANCEL


@router.message(KindIs(Kind.TEXT, Kind.VOICE) & ~_empty_text(), read_only=True)
async def not_understood(msg: Incoming, ctx: Context) -> str:
    staff = ctx.sender.staff
    if staff is not None:
        if is_greeting(msg.text):
            return GREETING_STAFF.format(name=staff.name)
        if len(msg.text) <= 12 and is_thanks(msg.text):
            return THANKS_STAFF
        if looks_like_pick(msg.text):
            # The list it answers ended when another message came in between.
            return NO_LIST_WAITING
        return NOT_UNDERSTOOD_STAFF.format(text=msg.text.strip()[:30])
    return NOT_UNDERSTOOD


@router.message(KindIs(Kind.VOICE), read_only=True)
async def voice_unrecognised(msg: Incoming, ctx: Context) -> str:
    return VOICE_UNRECOGNISED


@router.message(AnyMessage(), read_only=True)
async def unsupported(msg: Incoming, ctx: Context) -> str:
    return UNSUPPORTED.format(what=KIND_LABEL.get(msg.kind, "这类消息"))
