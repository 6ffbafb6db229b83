"""Staff onboarding by invite code: valid, reused, expired, wrong, throttled, and the
two-step dialog when the code is sent separately."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

from models import InviteCode, Staff
from models.enums import Role
from models.staff import create_invite
from tests.wechat_client import OPENID, WeChatSender

OTHER = "oOtherUser00000000000000002"


async def invite(role: str = "rep", name: str = "王五", hours: int = 72) -> str:
    return (await create_invite(role, name, "test", timedelta(hours=hours))).code


async def test_valid_code_binds_and_help_changes(wechat: WeChatSender) -> None:
    stranger_help = await wechat.say("帮助")
    code = await invite("manager", "李经理")
    reply = await wechat.say(f"绑定 {code}")
    assert "绑定成功" in reply and "李经理" in reply and "主管" in reply
    staff = await Staff.get(oa_openid=OPENID)
    assert staff.role == Role.MANAGER and staff.name == "李经理"
    used = await InviteCode.get(code=code)
    assert used.used_at is not None and used.used_by_id == staff.id
    staff_help = await wechat.say("帮助")
    assert staff_help != stranger_help
    assert "帮助" in staff_help


async def test_code_is_forgiving_about_case_spaces_and_fullwidth(wechat: WeChatSender) -> None:
    code = await invite()
    reply = await wechat.say(f"绑定　{code[:4].lower()} {code[4:]}")
    assert "绑定成功" in reply


async def test_reused_code_is_refused(wechat: WeChatSender) -> None:
    code = await invite()
    assert "绑定成功" in await wechat.say(f"绑定 {code}")
    reply = await wechat.say(f"绑定 {code}", sender=OTHER)
    assert "已经被使用" in reply
    assert await Staff.filter(oa_openid=OTHER).count() == 0


async def test_binding_twice_says_already_bound(wechat: WeChatSender) -> None:
    code = await invite()
    await wechat.say(f"绑定 {code}")
    second = await invite(name="另一个")
    reply = await wechat.say(f"绑定 {second}")
    assert "已经绑定为 王五" in reply
    assert (await InviteCode.get(code=second)).used_at is None


async def test_expired_code_is_refused(wechat: WeChatSender) -> None:
    code = await invite(hours=1)
    with time_machine.travel(datetime.now(UTC) + timedelta(hours=2), tick=True):
        reply = await wechat.say(f"绑定 {code}")
    assert "已过期" in reply
    assert await Staff.all().count() == 0


async def test_wrong_code_is_refused(wechat: WeChatSender) -> None:
    reply = await wechat.say("绑定 ABCD2345")
    assert "不正确" in reply and "ABCD2345" in reply
    assert await Staff.all().count() == 0


async def test_repeated_wrong_codes_are_throttled(wechat: WeChatSender) -> None:
    code = await invite()
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=True):
        for n in range(5):
            assert "不正确" in await wechat.say(f"绑定 WRONG00{n}")
        blocked = await wechat.say(f"绑定 {code}")
        assert "次数过多" in blocked
        # Another sender is not affected by this sender's mistakes.
        assert "绑定成功" in await wechat.say(f"绑定 {await invite(name='钱七')}", sender=OTHER)
    assert await Staff.filter(oa_openid=OPENID).count() == 0
    with time_machine.travel(start + timedelta(minutes=16), tick=True):
        assert "绑定成功" in await wechat.say(f"绑定 {code}")


async def test_bind_dialog_asks_for_the_code(wechat: WeChatSender) -> None:
    code = await invite()
    assert "邀请码" in await wechat.say("绑定")
    assert "绑定成功" in await wechat.say(code)


async def test_bind_dialog_can_be_cancelled_and_expires(wechat: WeChatSender) -> None:
    await wechat.say("绑定")
    assert "已取消" in await wechat.say("取消")
    # Outside the dialog a bare code is not taken as a bind attempt.
    code = await invite()
    assert "绑定成功" not in await wechat.say(code)

    start = datetime.now(UTC)
    with time_machine.travel(start, tick=True):
        await wechat.say("绑定")
    with time_machine.travel(start + timedelta(minutes=11), tick=True):
        assert "绑定成功" not in await wechat.say(code)
    assert await Staff.all().count() == 0


MANAGER = "oManager000000000000000000003"


async def test_manager_invites_a_rep_who_then_binds(wechat: WeChatSender) -> None:
    await Staff.create(name="陈静", role="manager", oa_openid=MANAGER)
    assert "邀请 角色 姓名" in await wechat.say("帮助", sender=MANAGER)
    reply = await wechat.say("邀请 销售 孙八 24h", sender=MANAGER)
    assert "孙八（销售）" in reply
    code = reply.split("邀请码：")[1].split()[0]
    invite_row = await InviteCode.get(code=code)
    assert invite_row.created_by.startswith("staff:")
    assert 23.9 < (invite_row.expires_at - invite_row.created_at).total_seconds() / 3600 < 24.1
    assert "绑定成功" in await wechat.say(f"绑定 {code}")
    assert (await Staff.get(oa_openid=OPENID)).name == "孙八"


async def test_invite_rules(wechat: WeChatSender) -> None:
    await Staff.create(name="陈静", role="manager", oa_openid=MANAGER)
    assert "可以邀请的角色：销售" in await wechat.say("邀请 管理员 某人", sender=MANAGER)
    assert "用法" in await wechat.say("邀请 老板 某人", sender=MANAGER)
    assert "用法" in await wechat.say("邀请 销售 某人 明天", sender=MANAGER)
    # Reps and strangers cannot invite.
    await Staff.create(name="李明", role="rep", oa_openid=OTHER)
    assert "邀请码" not in await wechat.say("邀请 销售 某人", sender=OTHER)
    assert "邀请码" not in await wechat.say("邀请 销售 某人")
    assert await InviteCode.all().count() == 0


async def test_deactivated_staff_can_be_invited_again(wechat: WeChatSender) -> None:
    await Staff.create(name="旧名字", role="rep", oa_openid=OPENID, active=False)
    code = await invite("manager", "新主管")
    assert "绑定成功" in await wechat.say(f"绑定 {code}")
    staff = await Staff.get(oa_openid=OPENID)
    assert staff.active and staff.name == "新主管" and staff.role == Role.MANAGER
    assert await Staff.all().count() == 1
