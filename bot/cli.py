"""The ``wecrm`` command: migrate, serve (``bot.cli_serve``), seed, outbox, jobs, grade,
staff (``bot.cli_staff``), campaign (``bot.cli_campaign``), import, export."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from bot import cli_campaign, cli_serve, cli_staff
from bot.config import Config, ConfigError, load_config
from scheduler.jobs import JOBS

_DURATION = re.compile(r"^\s*(\d+)\s*([mhd])\s*$", re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_duration(text: str) -> timedelta:
    """``30m`` / ``72h`` / ``7d`` → timedelta."""
    match = _DURATION.match(text)
    if not match or int(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"expected a duration like 30m, 72h or 7d, got {text!r}")
    return timedelta(**{_UNITS[match.group(2).lower()]: int(match.group(1))})


def parse_moment(text: str | None, cfg: Config) -> datetime:
    """``--at``: ISO 8601; without an offset it is local time in bot.timezone."""
    if not text:
        return datetime.now(UTC)
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=cfg.tz)
    return moment.astimezone(UTC)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wecrm", description="WeChat CRM bot")
    p.add_argument("--config", help="TOML config file (default: $WECRM_CONFIG)")
    sub = p.add_subparsers(dest="command", required=True)

    sub.add_parser("migrate", help="create or update the database schema (safe to repeat)")

    serve = sub.add_parser("serve", help="serve the webhooks (and the simulator if enabled)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument(
        "--workers",
        type=int,
        help="worker processes sharing the port (default [server] workers; "
        "when 0: one per core on PostgreSQL, 1 on SQLite)",
    )
    # Set by the supervisor for its workers.
    serve.add_argument("--listen-fds", help=argparse.SUPPRESS)
    serve.add_argument("--supervised", action="store_true", help=argparse.SUPPRESS)
    serve.add_argument(
        "--no-scheduler",
        action="store_true",
        help="web only; run `wecrm scheduler` once elsewhere (several web workers)",
    )

    seed = sub.add_parser("seed", help="load the demo data set")
    seed.add_argument("--if-empty", action="store_true", help="do nothing if staff exist")

    outbox = sub.add_parser("outbox", help="show the delivery queue; `retry --failed` requeues")
    outbox_sub = outbox.add_subparsers(dest="outbox_command")
    retry = outbox_sub.add_parser("retry", help="requeue failed messages")
    retry.add_argument("--failed", action="store_true", required=True)

    jobs = sub.add_parser("jobs", help="run a scheduled job by hand (tests, catching up)")
    jobs_sub = jobs.add_subparsers(dest="jobs_command", required=True)
    run = jobs_sub.add_parser("run", help="run one job once; safe to repeat")
    run.add_argument("name", choices=sorted(JOBS))
    run.add_argument(
        "--dry-run", action="store_true", help="print what the job would send; send nothing"
    )
    jobs_sub.add_parser("list", help="every job, its schedule and its next run")

    sub.add_parser("scheduler", help="run only the scheduler (beside `serve --no-scheduler`)")
    run.add_argument(
        "--at", help="run as of this moment, ISO 8601 (no offset = bot.timezone); default now"
    )

    grade = sub.add_parser(
        "grade", help="recompute grade, lifecycle and 大客户 tier now (the nightly job)"
    )
    grade.add_argument(
        "--at", help="as of this moment, ISO 8601 (no offset = bot.timezone); default now"
    )
    grade.add_argument(
        "--dry-run",
        action="store_true",
        help="print what would change and who would be told; write nothing",
    )

    grade.add_argument(
        "--no-push",
        action="store_true",
        help="store the changes without telling the reps (e.g. the day grading is switched on)",
    )

    cli_staff.add_parsers(sub, parse_duration)
    cli_campaign.add_parsers(sub)

    digest = sub.add_parser("digest", help="the managers' digest for a day, week or month")
    digest.add_argument("--date", help="YYYY-MM-DD, the day (or last day) of the report")
    span = digest.add_mutually_exclusive_group()
    span.add_argument("--week", action="store_true", help="the week up to --date")
    span.add_argument("--month", action="store_true", help="the month up to --date")
    digest.add_argument("--print", action="store_true", help="print the text (the default)")
    digest.add_argument("--png", help="write the chart to this PNG file")

    imp = sub.add_parser("import", help="import customers from .xlsx or .csv (创建/更新/跳过)")
    imp.add_argument("file", help="FILE.xlsx or FILE.csv, Chinese headers (姓名, 电话, …)")
    imp.add_argument(
        "--dry-run", action="store_true", help="report what would happen, write nothing"
    )
    imp.add_argument("--owner", help="staff name for rows without 负责人")
    imp.add_argument("--quiet", action="store_true", help="no progress on stderr")

    export = sub.add_parser("export", help="export all customers to .xlsx or .csv (decrypted)")
    export.add_argument("file", help="FILE.xlsx or FILE.csv")
    return p


async def _with_db(cfg: Config, work, tables: Sequence[str] | None = None):  # type: ignore[no-untyped-def]
    """Run ``work`` connected; ``tables``: only these model modules (a quicker start)."""
    from bot import db

    ctx = await db.connect(cfg.database.url, cfg.data_key_bytes or None, tables or db.TABLES)
    try:
        return await work()
    finally:
        await db.close(ctx)


def cmd_migrate(cfg: Config) -> int:
    from bot import db

    asyncio.run(db.migrate(cfg.database.url))
    print("database schema is up to date")
    return 0


def cmd_scheduler(cfg: Config) -> int:
    import signal

    from bot.logs import setup_logging
    from scheduler.runner import SchedulerService

    setup_logging(cfg.log.level, cfg.log.format)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        service = SchedulerService(cfg)

        async def until_stopped() -> None:
            await service.start()
            print("scheduler running (standby if another holds the lock)", flush=True)
            await stop.wait()
            await service.stop()

        await _with_db(cfg, until_stopped)

    asyncio.run(run())
    return 0


def cmd_seed(cfg: Config, args: argparse.Namespace) -> int:
    from bot.seed import SeedError, seed_demo

    async def work() -> str:
        return await seed_demo(cfg, if_empty=args.if_empty)

    try:
        print(asyncio.run(_with_db(cfg, work)))
    except SeedError as exc:
        print(f"wecrm: {exc}", file=sys.stderr)
        return 1
    return 0


def cmd_digest(cfg: Config, args: argparse.Namespace) -> int:
    from bot.parsing.dates import local_today
    from models.digest import build_digest
    from models.digest_text import render_digest
    from models.periods import day_period, month_period, week_period

    try:
        day = date.fromisoformat(args.date) if args.date else local_today(cfg.tz)
    except ValueError:
        print(f"wecrm: --date: expected YYYY-MM-DD, got {args.date!r}", file=sys.stderr)
        return 2
    period = (month_period if args.month else week_period if args.week else day_period)(day)

    async def work():  # type: ignore[no-untyped-def]
        return await build_digest(period, cfg, keep_snapshot=False)

    found = asyncio.run(_with_db(cfg, work))
    if args.print or not args.png:
        print(render_digest(found))
    if args.png:
        from models.digest_chart import render_png

        with open(args.png, "wb") as out:
            out.write(render_png(found))
        print(f"chart written to {args.png}", file=sys.stderr)
    return 0


# The queue has no foreign keys: the operator's most frequent command loads one table.
OUTBOX_ONLY = ("models.outbox",)


def cmd_outbox(cfg: Config, args: argparse.Namespace) -> int:
    from models.outbox import outbox_report, retry_failed

    if args.outbox_command == "retry":
        count = asyncio.run(_with_db(cfg, retry_failed, OUTBOX_ONLY))
        print(f"requeued {count} failed message(s)")
        return 0
    report = asyncio.run(_with_db(cfg, outbox_report, OUTBOX_ONLY))
    print("status            count")
    for status, count in report["counts"].items():
        print(f"{status:<17} {count}")
    if report["oldest_pending"]:
        print(f"oldest pending since {report['oldest_pending'].astimezone(cfg.tz):%Y-%m-%d %H:%M}")
    if report["sent_by_way"]:
        print("sent in the last 24 h, by way")
        print("(custom = 客服消息, template = 模板消息, app = 企业微信应用消息):")
        for way, count in sorted(report["sent_by_way"].items()):
            print(f"  {way:<16} {count}")
    if report["errors"]:
        print("last errors:")
        for row in report["errors"]:
            print(
                f"  #{row['id']} {row['channel']}:{row['recipient']} "
                f"{row['status']} after {row['attempts']} tries — {row['last_error']}"
            )
    return 0


def _moment_or_none(args: argparse.Namespace, cfg: Config) -> datetime | None:
    try:
        return parse_moment(args.at, cfg)
    except ValueError:
        print(
            f"wecrm: --at expects an ISO 8601 moment such as 2026-11-25T09:00, got {args.at!r}",
            file=sys.stderr,
        )
        return None


def cmd_grade(cfg: Config, args: argparse.Namespace) -> int:
    from models.grading import recompute

    at = _moment_or_none(args, cfg)
    if at is None:
        return 2

    async def work() -> str:
        return str(await recompute(at, cfg, dry_run=args.dry_run, notify=not args.no_push))

    print(asyncio.run(_with_db(cfg, work)))
    return 0


def cmd_jobs(cfg: Config, args: argparse.Namespace) -> int:
    at = _moment_or_none(args, cfg)
    if at is None:
        return 2
    job = JOBS[args.name]
    func = job.func
    if args.dry_run:
        if job.preview is None:
            print(f"wecrm: job {args.name} has no dry run; it only queues idempotent work")
            return 2
        func = job.preview

    async def work() -> str:
        return await func(cfg, at)

    print(asyncio.run(_with_db(cfg, work)))
    return 0


def cmd_jobs_list(cfg: Config) -> int:
    from datetime import UTC, datetime

    from scheduler.runner import build_scheduler

    scheduler = build_scheduler(cfg)
    now = datetime.now(UTC).astimezone(cfg.tz)
    for job in sorted(scheduler.get_jobs(), key=lambda j: j.id):
        upcoming = job.trigger.get_next_fire_time(None, now)
        when = upcoming.strftime("%Y-%m-%d %H:%M %Z") if upcoming else "never"
        print(f"{job.id:<10} {job.trigger!s:<40} next: {when}")
    return 0


def cmd_import(cfg: Config, args: argparse.Namespace) -> int:
    from bot.crypto import FieldCipher
    from models.customer_io.importing import (
        ImportReport,
        format_report,
        import_file,
        progress_printer,
    )
    from models.customer_io.sheet import CustomerFileError

    progress = None if args.quiet else progress_printer(sys.stderr)

    async def work() -> ImportReport:
        return await import_file(
            args.file,
            FieldCipher(cfg.data_key_bytes),
            dry_run=args.dry_run,
            owner_name=args.owner,
            progress=progress,
        )

    try:
        report = asyncio.run(_with_db(cfg, work))
    except CustomerFileError as exc:
        print(f"wecrm: {exc}", file=sys.stderr)
        return 1
    print(format_report(report))
    return 0


def cmd_export(cfg: Config, args: argparse.Namespace) -> int:
    from bot.crypto import FieldCipher
    from models.customer_io.exporting import export_customers
    from models.customer_io.sheet import CustomerFileError

    async def work() -> int:
        return await export_customers(args.file, FieldCipher(cfg.data_key_bytes))

    try:
        count = asyncio.run(_with_db(cfg, work))
    except CustomerFileError as exc:
        print(f"wecrm: {exc}", file=sys.stderr)
        return 1
    print(f"已导出 {count} 位客户到 {args.file}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # The command line as given: the serve supervisor starts its workers with it.
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        print(f"wecrm: config error: {exc}", file=sys.stderr)
        return 2
    from tortoise.exceptions import (
        DBConnectionError,
        OperationalError,
        TransactionManagementError,
    )

    try:
        return _dispatch(cfg, args)
    except (
        OperationalError,
        TransactionManagementError,
        DBConnectionError,
        ConnectionError,
    ) as exc:
        # An operator's mistake (no tables yet, server down), or another process
        # holding the SQLite file past the wait (a write takes its turn, as a
        # transaction): not a bug, one line.
        hint = "" if args.command == "migrate" else " (run `wecrm migrate` first?)"
        print(f"wecrm: database error: {str(exc).splitlines()[0]}{hint}", file=sys.stderr)
        return 1


def _dispatch(cfg: Config, args: argparse.Namespace) -> int:
    if args.command == "migrate":
        return cmd_migrate(cfg)
    if args.command == "serve":
        return cli_serve.cmd_serve(cfg, args)
    if args.command == "scheduler":
        return cmd_scheduler(cfg)
    if args.command == "seed":
        return cmd_seed(cfg, args)
    if args.command == "outbox":
        return cmd_outbox(cfg, args)
    if args.command == "jobs" and args.jobs_command == "run":
        return cmd_jobs(cfg, args)
    if args.command == "jobs" and args.jobs_command == "list":
        return cmd_jobs_list(cfg)
    if args.command == "grade":
        return cmd_grade(cfg, args)
    if args.command == "staff":
        return cli_staff.run(cfg, args, _with_db)
    if args.command == "campaign":
        return cli_campaign.run(cfg, args, _with_db)
    if args.command == "digest":
        return cmd_digest(cfg, args)
    if args.command == "import":
        return cmd_import(cfg, args)
    if args.command == "export":
        return cmd_export(cfg, args)
    return 2


if __name__ == "__main__":
    sys.exit(main())
