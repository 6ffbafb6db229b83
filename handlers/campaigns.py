"""Campaigns in chat, the manager's side: 「推荐 新品X 给 VIP 餐饮 说明…」 and
「活动 12月20日 答谢会 给 活跃 说明…」 create a campaign and show its preview (「63 位客户，
9 位销售 —— 发送吗？」); 「是」 sends the reps their prompts now, 「早报」 with the next
morning briefing, 「否」 drops it. 「活动报告」 shows the figures per rep; 「名单 保存 老客户
VIP 餐饮」 names a segment for later (「给 名单 老客户」). Reps' marks are in
``handlers.campaign_marks``; the rules in ``models.campaigns``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.context import Context
from bot.conversation import yields_to_commands
from bot.filters import Command, KindIs, RoleIs, StateIs, answer_text
from bot.incoming import Incoming
from bot.parsing.dates import InvalidDate, local_today
from bot.parsing.revisits import leading_date
from bot.router import Router
from handlers.campaign_marks import MY_NONE, LooksLikeMark, my_campaigns
from handlers.customer_pick import staff_of
from handlers.help import register_help
from models.campaigns.lists import all_lists, delete_list, save_list
from models.campaigns.report import campaign_report, reports, running_campaigns
from models.campaigns.segments import (
    SegmentError,
    parse_segment,
    split_title_segment,
    vocabulary,
)
from models.campaigns.service import (
    CampaignError,
    cancel,
    create_campaign,
    next_briefing,
    preview,
    send,
)
from models.campaigns.tables import Campaign, CampaignKind, CampaignStatus
from models.campaigns.text import headline, render_preview, render_report

router = Router("campaigns")
# The answer to 「发送吗？」: after every command router, like the other dialogs.
dialog_router = Router("campaigns_dialog")

MANAGERS = ("manager", "admin")
CONFIRM_STATE = "campaigns.confirm"
CONFIRM_TTL = timedelta(minutes=30)
yields_to_commands(CONFIRM_STATE)

USAGE = (
    "发起活动的写法：\n"
    "· 推荐 新品X 给 VIP 餐饮 说明文字\n"
    "· 活动 12月20日 答谢会 给 活跃 说明文字\n"
    "「给」后面写客户范围：等级（VIP/普通/潜在）、状态（活跃/沉默）、大客户（战略/重要/普通大客户）、"
    "行业、类别、规模、负责人姓名、「生日 12月」或「名单 名字」，可以组合。"
)
NO_TITLE = "请写上推荐的产品，例如：推荐 新品X 给 VIP 餐饮 说明文字"
NO_EVENT_DATE = "请写上活动的日期，例如：活动 12月20日 答谢会 给 活跃 说明文字"
BAD_DATE = "日期「{text}」不对，例如：12月20日、下周六、12-20。"
PAST_DATE = "{day} 已经过去了，活动日期请写今天或以后。"
NO_SEGMENT = "没看懂要发给哪些客户。{usage}"
NO_LIST = "还没有叫「{name}」的名单。发送「名单」查看已保存的名单。"
NOBODY = "{preview}\n没有可以发送的客户，这个活动没有发出。"
ASK_SEND = (
    "{preview}\n—— 发送吗？回复「是」立即发给销售，"
    "回复「早报」随 {briefing} 的早报发，回复「否」取消。"
)
ASK_AGAIN = "请回复「是」（立即发）、「早报」（随早报发）或「否」（取消）。"
SENT_NOW = "已发给 {reps} 位销售，共 {customers} 位客户。销售标记后，发送「活动报告」看进展。"
SENT_LATER = "将随 {when} 的早报发给 {reps} 位销售，共 {customers} 位客户。"
QUIET = "（现在是免打扰时段，{when} 送达。）"
ALREADY_SENT = "这个活动已经发过了，没有重复发送。发送「活动报告」看进展。"
DROPPED = "好的，这个活动不发了。"
GONE = "这个活动已经不在了，请重新发起。"
REPS_ONLY = "发起活动是主管的事。你可以发送「活动」查看你要联系的活动客户。"
NO_CAMPAIGNS = "还没有活动。\n" + USAGE
NO_SUCH_CAMPAIGN = "没有找到活动「{text}」。发送「活动报告」查看进行中的活动。"
REPORT_REPS = "活动报告只对主管开放。发送「活动」查看你的活动客户和标记情况。"
LIST_USAGE = (
    "名单的写法：\n· 名单 保存 老客户 VIP 餐饮 —— 把客户范围存成名单\n"
    "· 名单 删除 老客户\n使用：推荐 新品X 给 名单 老客户 …"
)
LIST_SAVED = "已保存名单「{name}」：{label}。发起活动时写「给 名单 {name}」。"
LIST_REPLACED = "已更新名单「{name}」：{label}。"
LIST_BAD = "名单「{name}」后面的「{rest}」没看懂，请只写客户范围，例如：名单 保存 老客户 VIP 餐饮"
LIST_DELETED = "已删除名单「{name}」。"
LIST_NONE = "还没有保存的名单。\n" + LIST_USAGE
LIST_LINE = "· {name}：{label}"

YES = {
    "是",
    "是的",
    "发",
    "发送",
    "发吧",
    "好",
    "好的",
    "确认",
    "可以",
    "现在发",
    "立即发",
    "马上发",
    "yes",
    "y",
    "ok",
}
BRIEFING = {
    "早报",
    "随早报",
    "随早报发",
    "早报发",
    "明早",
    "明早发",
    "明天早上",
    "明天早上发",
    "早上发",
    "明天发",
}
NO = {"否", "不", "不发", "不用", "不要", "取消", "算了", "no", "n"}

register_help(
    "推荐 新品X 给 VIP 餐饮 说明…", "给一组客户推荐新品：先预览，再发给负责的销售", *MANAGERS
)
register_help("活动 12月20日 答谢会 给 活跃 说明…", "邀请一组客户参加活动", *MANAGERS)
register_help("活动报告", "进行中活动的触达、有兴趣、报名和成交（按销售）", *MANAGERS)
register_help(
    "名单 保存 老客户 VIP 餐饮", "把客户范围存成名单，发起活动时写「给 名单 老客户」", *MANAGERS
)


# --- starting a campaign -------------------------------------------------------------------


@router.message(Command("推荐", "活动"), RoleIs("rep"), ~LooksLikeMark())
async def reps_do_not_start(msg: Incoming, ctx: Context) -> str:
    if ctx.data["command"] == "活动" and not ctx.data.get("args"):
        return await my_campaigns(msg, ctx)
    return REPS_ONLY


@router.message(Command("推荐", "活动"), RoleIs(*MANAGERS), ~LooksLikeMark())
async def start(msg: Incoming, ctx: Context) -> str:
    word, args = ctx.data["command"], ctx.data.get("args", "").strip()
    if not args:
        return await _recent(msg, ctx) if word == "活动" else USAGE
    today = local_today(ctx.config.tz)
    kind = CampaignKind.EVENT if word == "活动" else CampaignKind.RECOMMEND
    event_on = None
    if kind is CampaignKind.EVENT:
        try:
            found = leading_date(args, today)
        except InvalidDate as exc:
            return BAD_DATE.format(text=exc.phrase[:20])
        if found is None:
            return NO_EVENT_DATE
        event_on, args = found
        if event_on < today:
            return PAST_DATE.format(day=f"{event_on.month}月{event_on.day}日")
    vocab = await vocabulary()
    try:
        parsed = split_title_segment(args, vocab, today)
    except SegmentError as exc:
        return NO_LIST.format(name=str(exc).removeprefix("名单 "))
    if parsed is None:
        return NO_SEGMENT.format(usage=USAGE)
    title, segment, note = parsed
    if not title:
        return NO_TITLE if kind is CampaignKind.RECOMMEND else NO_EVENT_DATE
    staff = staff_of(ctx)
    campaign = await create_campaign(kind, title, segment, note, staff, event_on)
    ctx.data["audit_target"] = f"campaign:{campaign.id}"
    found = await preview(campaign, ctx.config)
    text = render_preview(found)
    if not found.customers:
        await cancel(campaign)
        return NOBODY.format(preview=text)
    assert ctx.conversation is not None
    await ctx.conversation.set(CONFIRM_STATE, {"campaign": campaign.id}, ttl=CONFIRM_TTL)
    return ASK_SEND.format(preview=text, briefing=_briefing_label(ctx))


def _moment_label(moment: datetime, ctx: Context) -> str:
    """「明天 08:30」, 「12月5日 08:30」: when a prompt will go out."""
    at = moment.astimezone(ctx.config.tz)
    days = (at.date() - local_today(ctx.config.tz)).days
    day = {0: "今天", 1: "明天"}.get(days, f"{at.month}月{at.day}日")
    return f"{day} {at:%H:%M}"


def _briefing_label(ctx: Context) -> str:
    return _moment_label(next_briefing(datetime.now(UTC), ctx.config), ctx)


async def _recent(msg: Incoming, ctx: Context) -> str:
    """A manager's 「活动」: the latest campaigns, and their own campaign customers (those
    nobody else owns come to a manager)."""
    campaigns = await Campaign.exclude(status=CampaignStatus.CANCELLED).order_by("-id").limit(5)
    if not campaigns:
        return NO_CAMPAIGNS
    lines = ["最近的活动："]
    for c in campaigns:
        state = {"draft": "未发送", "sent": "已发出"}.get(str(c.status), "")
        lines.append(f"· #{c.id} {headline(c)}（{state}，{c.segment_label or '全部客户'}）")
    lines.append("发送「活动报告」看进展。\n" + USAGE)
    mine = await my_campaigns(msg, ctx)
    if mine != MY_NONE:
        lines.append("\n" + mine)
    return "\n".join(lines)


@dialog_router.message(StateIs(CONFIRM_STATE), RoleIs(*MANAGERS), KindIs("text", "voice"))
async def confirm(msg: Incoming, ctx: Context) -> str:
    assert ctx.conversation is not None
    answer = answer_text(msg).lower()
    if answer not in YES | BRIEFING | NO:
        return ASK_AGAIN
    campaign = await Campaign.get_or_none(id=ctx.conversation.data.get("campaign"))
    await ctx.conversation.clear()
    if campaign is None:
        return GONE
    ctx.data["audit_target"] = f"campaign:{campaign.id}"
    if answer in NO:
        await cancel(campaign)
        return DROPPED
    try:
        sent = await send(campaign, ctx.config, with_briefing=answer in BRIEFING)
    except CampaignError as exc:
        return str(exc)
    if sent.already_sent:
        return ALREADY_SENT
    p = sent.preview
    if answer in BRIEFING and sent.when is not None:
        when = sent.when.astimezone(ctx.config.tz)
        return SENT_LATER.format(
            when=f"{when.month}月{when.day}日 {when:%H:%M}", reps=len(p.reps), customers=p.customers
        )
    text = SENT_NOW.format(reps=len(p.reps), customers=p.customers)
    if sent.when is not None and sent.when > datetime.now(UTC) + timedelta(minutes=1):
        text += QUIET.format(when=_moment_label(sent.when, ctx))
    return text


# --- report ----------------------------------------------------------------------------------


@router.message(Command("活动报告", "活动统计", "活动进展"), RoleIs("rep"))
async def report_for_reps(msg: Incoming, ctx: Context) -> str:
    return REPORT_REPS


@router.message(Command("活动报告", "活动统计", "活动进展"), RoleIs(*MANAGERS))
async def report(msg: Incoming, ctx: Context) -> str:
    today = local_today(ctx.config.tz)
    args = ctx.data.get("args", "").strip().lstrip("#")
    if args:
        campaign = await _find_campaign(args)
        if campaign is None:
            return NO_SUCH_CAMPAIGN.format(text=args[:20])
        return render_report(await campaign_report(campaign), today)
    running = await running_campaigns(today)
    if not running:
        latest = await Campaign.filter(status=CampaignStatus.SENT).order_by("-sent_at").first()
        if latest is None:
            return NO_CAMPAIGNS
        running = [latest]
    return "\n\n".join(render_report(r, today) for r in await reports(running))


async def _find_campaign(text: str) -> Campaign | None:
    query = Campaign.exclude(status=CampaignStatus.CANCELLED).order_by("-id")
    if text.isdigit():
        found = await query.filter(id=int(text)).first()
        if found is not None:
            return found
    return await query.filter(title__icontains=text).first()


# --- saved segments (名单) --------------------------------------------------------------------


@router.message(Command("名单"), RoleIs(*MANAGERS))
async def lists(msg: Incoming, ctx: Context) -> str:
    args = ctx.data.get("args", "").split(maxsplit=2)
    if not args:
        saved = await all_lists()
        if not saved:
            return LIST_NONE
        lines = ["已保存的名单："] + [LIST_LINE.format(name=s.name, label=s.label) for s in saved]
        return "\n".join(lines) + "\n使用：推荐 新品X 给 名单 名字 …"
    action = args[0]
    if action in ("删除", "删掉", "去掉") and len(args) >= 2:
        name = args[1]
        return (
            LIST_DELETED.format(name=name) if await delete_list(name) else NO_LIST.format(name=name)
        )
    if action not in ("保存", "新建", "存", "存为") or len(args) < 3:
        return LIST_USAGE
    name, words = args[1][:32], args[2]
    try:
        segment, rest = parse_segment(words, await vocabulary(), local_today(ctx.config.tz))
    except SegmentError as exc:
        if str(exc).startswith("名单"):
            return NO_LIST.format(name=str(exc).removeprefix("名单 "))
        return NO_SEGMENT.format(usage=USAGE)
    if rest:
        return LIST_BAD.format(name=name, rest=rest[:20])
    created = await save_list(name, segment, staff_of(ctx))
    return (LIST_SAVED if created else LIST_REPLACED).format(name=name, label=segment.label)


@router.message(Command("名单"), RoleIs("rep"))
async def lists_for_reps(msg: Incoming, ctx: Context) -> str:
    return REPS_ONLY
