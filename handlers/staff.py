"""Staff onboarding: ``绑定 <邀请码>`` makes the sender the staff member the code names.

``绑定`` without a code starts a two-step dialog that asks for it. Wrong codes are
counted per sender; too many in the window and the sender must wait.
"""

from __future__ import annotations

import re
from datetime import timedelta

from bot.context import Context
from bot.filters import ChannelIs, Command, KindIs, RoleIs, StateIs
from bot.incoming import Incoming, Kind, Reply
from bot.router import Router
from handlers.help import register_help
from models.enums import Role
from models.staff import (
    CHANNEL_ID_FIELD,
    BindError,
    bind_blocked_until,
    create_invite,
    record_bind_failure,
    redeem_invite,
)

router = Router("staff")

ASK_CODE = "请发送管理员给你的邀请码（8 位字母和数字）。发送「取消」可退出。"
CANCELLED = "已取消绑定。"
BOUND = "绑定成功！欢迎你，{name}（{role}）。发送「帮助」查看你可以使用的命令。"
LINKED = "关联成功！{name}，你在{channels}上是同一个账号，客户、待办和提醒都是同一份。{push}"
PUSH_ON_WECOM = "以后的提醒会发到企业微信。"
LINK_CODE = (
    "关联码：{code}（{minutes} 分钟内有效，只能用一次）\n"
    "请在{other}里给我发送：绑定 {code}\n两边会是同一个账号，提醒优先发到企业微信。"
)
WECOM_UNBOUND = (
    "你好！你的企业微信账号（{userid}）还没有绑定员工身份。\n"
    "请发送「绑定 邀请码」（邀请码向主管或管理员要），或把上面的账号告诉管理员为你开通。"
)
CHANNEL_LABEL = {"oa": "公众号", "wecom": "企业微信", "simulator": "模拟器"}
LINK_TTL = timedelta(minutes=30)
FAILED = {
    "unknown": "邀请码「{code}」不正确，请核对后重新发送（注意区分字母和数字）。",
    "used": "这个邀请码已经被使用过了，每个邀请码只能用一次。请联系管理员重新生成。",
    "expired": "这个邀请码已过期，请联系管理员重新生成。",
    "already_staff": "你已经绑定为 {name}（{role}），无需重复绑定。",
}
THROTTLED = "邀请码错误次数过多，请在 {until} 之后再试，或联系管理员确认邀请码。"

AWAIT_CODE = "staff.bind:await_code"

INVITE_USAGE = "用法：邀请 角色 姓名 [有效期]，例如：邀请 销售 王五 72h（角色：销售、主管、管理员）"
INVITE_FORBIDDEN = "你可以邀请的角色：{allowed}。"
INVITED = (
    "已为 {name}（{role}）生成邀请码：{code}\n{expires} 前有效，只能使用一次。"
    "请让对方给我发送：绑定 {code}"
)
ROLE_WORDS = {
    "销售": Role.REP,
    "rep": Role.REP,
    "主管": Role.MANAGER,
    "经理": Role.MANAGER,
    "manager": Role.MANAGER,
    "管理员": Role.ADMIN,
    "admin": Role.ADMIN,
}
# Who may invite whom: managers grow their sales team, admins anyone.
MAY_INVITE = {Role.MANAGER: (Role.REP,), Role.ADMIN: (Role.REP, Role.MANAGER, Role.ADMIN)}
_TTL = re.compile(r"^(\d{1,3})\s*(h|小时|d|天)$", re.IGNORECASE)

register_help("绑定 邀请码", "用管理员给的邀请码绑定员工身份", "stranger", "customer")
register_help("邀请 角色 姓名", "生成一次性邀请码，例如：邀请 销售 王五", "manager", "admin")
register_help("关联", "把企业微信和公众号关联成同一个账号", "rep", "manager", "admin")


@router.message(Command("绑定", "bind"))
async def bind(msg: Incoming, ctx: Context) -> str:
    code = ctx.data.get("args", "")
    if not code:
        if ctx.sender.staff is not None:
            return _already(ctx)
        assert ctx.conversation is not None
        await ctx.conversation.set(AWAIT_CODE)
        return ASK_CODE
    return await _redeem(code, msg, ctx)


@router.message(StateIs(AWAIT_CODE), Command("取消", "cancel"))
async def cancel_bind(msg: Incoming, ctx: Context) -> str:
    assert ctx.conversation is not None
    await ctx.conversation.clear()
    return CANCELLED


@router.message(StateIs(AWAIT_CODE), KindIs("text"))
async def bind_code_reply(msg: Incoming, ctx: Context) -> str:
    return await _redeem(msg.text, msg, ctx)


def _already(ctx: Context) -> str:
    staff = ctx.sender.staff
    assert staff is not None
    return FAILED["already_staff"].format(name=staff.name, role=Role(staff.role).label)


async def _redeem(code: str, msg: Incoming, ctx: Context) -> str:
    if ctx.sender.staff is not None:
        return _already(ctx)
    cfg = ctx.config.staff
    window = timedelta(minutes=cfg.bind_window_minutes)
    until = await bind_blocked_until(msg.user_key, cfg.bind_max_failures, window)
    if until is not None:
        return THROTTLED.format(until=until.astimezone(ctx.config.tz).strftime("%H:%M"))
    try:
        staff = await redeem_invite(code, msg.channel, msg.sender)
    except BindError as exc:
        if exc.reason == "already_staff" and exc.staff is not None:
            ctx.sender.staff = exc.staff
            return _already(ctx)
        await record_bind_failure(msg.user_key, exc.reason, ctx.request_id)
        return FAILED[exc.reason].format(code=code.strip()[:20])
    finally:
        if ctx.conversation is not None and ctx.conversation.state == AWAIT_CODE:
            await ctx.conversation.clear()
    ctx.sender.staff = staff
    ctx.data["audit_target"] = f"staff:{staff.id}"
    channels = [
        label for ch, label in CHANNEL_LABEL.items() if getattr(staff, CHANNEL_ID_FIELD[ch])
    ]
    if len(channels) > 1:
        push = PUSH_ON_WECOM if staff.wecom_userid and ctx.config.wecom.corp_id else ""
        return LINKED.format(name=staff.name, channels="和".join(channels), push=push)
    return BOUND.format(name=staff.name, role=Role(staff.role).label)


@router.message(Command("关联", "关联企业微信", "关联公众号"), RoleIs("staff"))
async def link_code(msg: Incoming, ctx: Context) -> str:
    staff = ctx.sender.staff
    assert staff is not None
    code = await create_invite(
        staff.role, staff.name, created_by=f"staff:{staff.id}", ttl=LINK_TTL, link_to=staff
    )
    ctx.data["audit_target"] = f"invite:{code.id}"
    other = "公众号" if msg.channel == "wecom" else "企业微信"
    return LINK_CODE.format(
        code=code.code, minutes=int(LINK_TTL.total_seconds() // 60), other=other
    )


# WeCom members are colleagues, never customers: until bound they can only bind.
@router.message(ChannelIs("wecom"), RoleIs("stranger", "customer"))
async def wecom_unbound(msg: Incoming, ctx: Context) -> Reply:
    if msg.kind is Kind.EVENT and msg.event not in ("enter_agent", "subscribe"):
        return Reply.none()
    return Reply(text=WECOM_UNBOUND.format(userid=msg.sender))


@router.message(Command("邀请", "invite"), RoleIs("manager", "admin"))
async def invite(msg: Incoming, ctx: Context) -> str:
    parts = ctx.data.get("args", "").split()
    if len(parts) not in (2, 3) or parts[0].lower() not in ROLE_WORDS:
        return INVITE_USAGE
    role = ROLE_WORDS[parts[0].lower()]
    name = parts[1][:32]
    ttl = timedelta(hours=ctx.config.staff.invite_ttl_hours)
    if len(parts) == 3:
        match = _TTL.match(parts[2])
        if not match or int(match.group(1)) == 0:
            return INVITE_USAGE
        unit = "days" if match.group(2).lower() in ("d", "天") else "hours"
        ttl = timedelta(**{unit: int(match.group(1))})
    staff = ctx.sender.staff
    assert staff is not None
    allowed = MAY_INVITE[Role(staff.role)]
    if role not in allowed:
        return INVITE_FORBIDDEN.format(allowed="、".join(r.label for r in allowed))
    code = await create_invite(role, name, created_by=f"staff:{staff.id}", ttl=ttl)
    ctx.data["audit_target"] = f"invite:{code.id}"
    expires = code.expires_at.astimezone(ctx.config.tz).strftime("%m月%d日 %H:%M")
    return INVITED.format(name=name, role=role.label, code=code.code, expires=expires)
