"""``wecrm staff …``: invite codes, adding a WeCom member directly, listing and
deactivating staff. The rules are in ``models.staff``; this module parses and prints."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from bot.config import Config

ROLES = ["rep", "manager", "admin"]


def add_parsers(sub: Any, parse_duration: Callable[[str], timedelta]) -> None:
    staff = sub.add_parser("staff", help="staff administration")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    invite = staff_sub.add_parser("invite", help="print a one-time invite code")
    invite.add_argument("--role", required=True, choices=ROLES)
    invite.add_argument("--name", required=True)
    invite.add_argument("--expires", type=parse_duration, help="e.g. 72h (default from config)")

    add = staff_sub.add_parser(
        "add", help="make a WeCom member staff without an invite code (企业微信 userid)"
    )
    add.add_argument("--wecom-userid", required=True, help="the member's 账号 in WeCom")
    add.add_argument("--name", required=True)
    add.add_argument("--role", required=True, choices=ROLES)
    add.add_argument(
        "--staff",
        type=int,
        help="id of an existing staff member (from `staff list`) who is this person",
    )

    staff_sub.add_parser("list", help="every staff member, their channels and customers")
    deactivate = staff_sub.add_parser("deactivate", help="someone who left: no longer staff")
    deactivate.add_argument("id", type=int, help="staff id from `wecrm staff list`")


def run(cfg: Config, args: argparse.Namespace, with_db: Callable[..., Any]) -> int:
    commands: dict[str, Callable[[Config, argparse.Namespace], Awaitable[int]]] = {
        "invite": _invite,
        "add": _add,
        "list": _list,
        "deactivate": _deactivate,
    }
    work = commands[args.staff_command]
    return int(asyncio.run(with_db(cfg, lambda: work(cfg, args))))


async def _invite(cfg: Config, args: argparse.Namespace) -> int:
    from models.enums import Role
    from models.staff import create_invite

    ttl = args.expires or timedelta(hours=cfg.staff.invite_ttl_hours)
    invite = await create_invite(args.role, args.name, created_by="cli", ttl=ttl)
    expires = invite.expires_at.astimezone(cfg.tz).strftime("%Y-%m-%d %H:%M")
    print(invite.code)
    print(
        f"{args.name}（{Role(args.role).label}）的邀请码，{expires} 前有效，只能使用一次。"
        f"请让对方给机器人发送：绑定 {invite.code}",
        file=sys.stderr,
    )
    return 0


async def _add(cfg: Config, args: argparse.Namespace) -> int:
    from models.enums import Role
    from models.staff import StaffAdminError, add_channel_staff

    userid = args.wecom_userid.strip()
    if not userid or len(userid) > 64:
        print("wecrm: --wecom-userid must be 1–64 characters", file=sys.stderr)
        return 2
    try:
        staff, created = await add_channel_staff("wecom", userid, args.name, args.role, args.staff)
    except StaffAdminError as exc:
        print(f"wecrm: {exc}", file=sys.stderr)
        return 1
    what = "added" if created else "linked to existing"
    role = Role(staff.role).label
    print(f"{what} staff #{staff.id} {staff.name}（{role}）: WeCom userid {userid}")
    if not cfg.wecom.corp_id:
        print("note: wecom.corp_id is not configured, pushes will not use WeCom", file=sys.stderr)
    return 0


async def _list(cfg: Config, args: argparse.Namespace) -> int:
    from models.staff import staff_overview

    rows = await staff_overview()
    print(f"{'id':>4}  {'name':<8} {'role':<8} {'active':<6} {'customers':>9}  channels")
    for r in rows:
        channels = ", ".join(f"{k}={v}" for k, v in r.channels.items()) or "-"
        active = "yes" if r.staff.active else "no"
        print(
            f"{r.staff.id:>4}  {r.staff.name:<8} {r.staff.role:<8} {active:<6} "
            f"{r.customers:>9}  {channels}"
        )
    return 0


async def _deactivate(cfg: Config, args: argparse.Namespace) -> int:
    from models.staff import StaffAdminError, deactivate_staff

    try:
        staff, owned = await deactivate_staff(args.id)
    except StaffAdminError as exc:
        print(f"wecrm: {exc}", file=sys.stderr)
        return 1
    print(f"deactivated staff #{staff.id} {staff.name}")
    if owned:
        print(
            f"{owned} customer(s) still belong to {staff.name}: move them with "
            f"「转移 {staff.name} 新负责人」 in chat",
            file=sys.stderr,
        )
    return 0
