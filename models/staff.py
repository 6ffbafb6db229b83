"""Staff members and the one-time invite codes that make a chat user staff."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise import fields
from tortoise.exceptions import IntegrityError
from tortoise.functions import Count
from tortoise.models import Model
from tortoise.transactions import in_transaction

from models.enums import Role


class Staff(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    name = fields.CharField(max_length=64)
    role = fields.CharEnumField(Role, max_length=16)
    # One id per channel the person talks to us through.
    oa_openid = fields.CharField(max_length=64, null=True, unique=True)
    wecom_userid = fields.CharField(max_length=64, null=True, unique=True)
    simulator_id = fields.CharField(max_length=64, null=True, unique=True)
    active = fields.BooleanField(default=True)
    # The manager who receives complaints of customers without an owner.
    on_duty = fields.BooleanField(default=False)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "staff"

    def __str__(self) -> str:
        return f"{self.name}（{Role(self.role).label}）"


class InviteCode(Model):
    _no_comments = True
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    role = fields.CharEnumField(Role, max_length=16)
    name = fields.CharField(max_length=64)
    created_by = fields.CharField(max_length=64)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    used_by: fields.ForeignKeyNullableRelation[Staff] = fields.ForeignKeyField(
        "models.Staff", related_name=False, null=True, on_delete=fields.SET_NULL
    )
    # A link code: redeeming it adds the sender's channel id to this existing staff
    # row (one person on the Official Account and WeCom is one staff member).
    link_staff: fields.ForeignKeyNullableRelation[Staff] = fields.ForeignKeyField(
        "models.Staff", related_name=False, null=True, on_delete=fields.CASCADE
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "invite_code"


# Channel name -> the Staff column holding that channel's user id.
CHANNEL_ID_FIELD = {"oa": "oa_openid", "wecom": "wecom_userid", "simulator": "simulator_id"}

# No 0/O, 1/I/L: codes are read off a screen and typed on a phone.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8


class BindError(Exception):
    """Why an invite code could not be redeemed; ``reason`` is one of
    ``unknown``, ``used``, ``expired``, ``already_staff``."""

    def __init__(self, reason: str, staff: Staff | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.staff = staff


async def find_staff(channel: str, sender_id: str) -> Staff | None:
    column = CHANNEL_ID_FIELD.get(channel)
    if column is None or not sender_id:
        return None
    return await Staff.get_or_none(**{column: sender_id}, active=True)


def normalize_code(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


async def create_invite(
    role: Role | str,
    name: str,
    created_by: str,
    ttl: timedelta,
    now: datetime | None = None,
    link_to: Staff | None = None,
) -> InviteCode:
    """A one-time code; with ``link_to``, redeeming it adds the redeemer's channel id
    to that staff member instead of creating a new one."""
    now = now or datetime.now(UTC)
    while True:
        code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(CODE_LENGTH))
        try:
            async with in_transaction():  # a savepoint inside a message's transaction
                return await InviteCode.create(
                    code=code,
                    role=Role(role),
                    name=name,
                    created_by=created_by,
                    expires_at=now + ttl,
                    link_staff=link_to,
                )
        except IntegrityError:  # astronomically rare collision: draw again
            continue


async def redeem_invite(
    code: str, channel: str, sender_id: str, now: datetime | None = None
) -> Staff:
    """Make the sender the staff member the code was issued for; single use."""
    now = now or datetime.now(UTC)
    existing = await find_staff(channel, sender_id)
    if existing is not None:
        raise BindError("already_staff", existing)
    wanted = normalize_code(code)
    # A code is 8 characters; a sentence glued to 绑定 is not one (and would not fit
    # the column the lookup compares with).
    invite = await InviteCode.get_or_none(code=wanted) if len(wanted) <= 32 else None
    if invite is None:
        raise BindError("unknown")
    if invite.used_at is not None:
        raise BindError("used")
    if invite.expires_at <= now:
        raise BindError("expired")
    async with in_transaction():
        # The conditional update is the single-use guarantee: of two people racing
        # with the same code exactly one changes the row.
        claimed = await InviteCode.filter(id=invite.id, used_at__isnull=True).update(used_at=now)
        if claimed != 1:
            raise BindError("used")
        column = CHANNEL_ID_FIELD[channel]
        # Someone deactivated earlier and invited again: revive their row (the
        # channel id is unique) with the name and role of the new invite.
        staff = await Staff.get_or_none(**{column: sender_id}, active=False)
        if invite.link_staff_id is not None:  # type: ignore[attr-defined]
            staff = await _link(invite.link_staff_id, column, sender_id, staff)  # type: ignore[attr-defined]
        elif staff is not None:
            staff.name, staff.role, staff.active = invite.name, invite.role, True
            await staff.save(update_fields=["name", "role", "active"])
        else:
            staff = await Staff.create(name=invite.name, role=invite.role, **{column: sender_id})
        await InviteCode.filter(id=invite.id).update(used_by_id=staff.id)
    return staff


async def _link(staff_id: int, column: str, sender_id: str, stale: Staff | None) -> Staff:
    staff = await Staff.get_or_none(id=staff_id, active=True)
    if staff is None:
        raise BindError("unknown")
    if stale is not None and stale.id != staff.id:
        # A deactivated row still holds this id (unique): it is the same person's past.
        await Staff.filter(id=stale.id).update(**{column: None})
    setattr(staff, column, sender_id)
    await staff.save(update_fields=[column])
    return staff


# --- administration (CLI) ----------------------------------------------------------------


class StaffAdminError(Exception):
    """An administrative change that cannot be made, with the reason for the admin."""


async def add_channel_staff(
    channel: str, sender_id: str, name: str, role: Role | str, link_id: int | None = None
) -> tuple[Staff, bool]:
    """Make ``sender_id`` on ``channel`` (e.g. a WeCom userid) staff without an invite
    code. ``link_id`` joins it to an existing staff member (one person, two channels);
    without it, a single active staff member of that name who has no id on the channel
    yet is taken to be the same person. Returns (staff, created)."""
    column = CHANNEL_ID_FIELD[channel]
    async with in_transaction():
        holder = await Staff.get_or_none(**{column: sender_id})
        if link_id is not None:
            target = await Staff.get_or_none(id=link_id, active=True)
            if target is None:
                raise StaffAdminError(f"no active staff member #{link_id}")
        elif holder is not None:
            target = holder
        else:
            same_name = await Staff.filter(name=name, active=True, **{f"{column}__isnull": True})
            target = same_name[0] if len(same_name) == 1 else None
        if holder is not None and target is not None and holder.id != target.id:
            if holder.active:
                raise StaffAdminError(f"{channel} id {sender_id} already belongs to {holder}")
            await Staff.filter(id=holder.id).update(**{column: None})
        if target is None:
            return await Staff.create(name=name, role=Role(role), **{column: sender_id}), True
        setattr(target, column, sender_id)
        target.active = True
        await target.save(update_fields=[column, "active"])
        return target, False


@dataclass
class StaffRow:
    staff: Staff
    channels: dict[str, str]
    customers: int


async def staff_overview() -> list[StaffRow]:
    """Everyone who is or was staff, with their channel ids and customer count."""
    from models.customers import Customer

    counts = dict(
        await Customer.filter(owner_id__isnull=False)
        .annotate(n=Count("id"))
        .group_by("owner_id")
        .values_list("owner_id", "n")
    )
    out = []
    for staff in await Staff.all().order_by("-active", "id"):
        channels = {
            ch: getattr(staff, col) for ch, col in CHANNEL_ID_FIELD.items() if getattr(staff, col)
        }
        out.append(StaffRow(staff, channels, int(counts.get(staff.id, 0))))
    return out


async def deactivate_staff(staff_id: int) -> tuple[Staff, int]:
    """Stop someone being staff (their channel ids stay, so they are not taken for a
    customer); returns them and how many customers they still own."""
    from models.customers import Customer

    staff = await Staff.get_or_none(id=staff_id)
    if staff is None:
        raise StaffAdminError(f"no staff member #{staff_id}")
    await Staff.filter(id=staff_id).update(active=False, on_duty=False)
    staff.active = False
    return staff, await Customer.filter(owner_id=staff_id).count()


BIND_FAILED = "staff.bind_failed"


async def record_bind_failure(actor: str, reason: str, request_id: str = "") -> None:
    from models.audit import AuditLog

    await AuditLog.create(
        actor=actor[:96],
        actor_role="stranger",
        action=BIND_FAILED,
        detail={"reason": reason},
        request_id=request_id,
    )


async def bind_blocked_until(
    actor: str, max_failures: int, window: timedelta, now: datetime | None = None
) -> datetime | None:
    """When ``actor`` may try again, if too many wrong codes came from them lately."""
    from models.audit import AuditLog

    now = now or datetime.now(UTC)
    failures = (
        await AuditLog.filter(actor=actor[:96], action=BIND_FAILED, created_at__gte=now - window)
        .order_by("-created_at")
        .limit(max_failures)
        .values_list("created_at", flat=True)
    )
    if len(failures) < max_failures:
        return None
    # Blocked until the oldest of the last ``max_failures`` failures leaves the window.
    return min(failures) + window
