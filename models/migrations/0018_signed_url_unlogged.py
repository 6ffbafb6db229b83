"""PostgreSQL: the replay guard's records (``signed_url``) in an UNLOGGED table.

Every plain-mode callback records its signed URL, so on PostgreSQL even 帮助 commits a
write. A logged table makes that commit wait for the WAL to reach the disk
(``fdatasync``) and pays for the WAL record: 45 µs of PostgreSQL's CPU of the 150 µs a
帮助 costs it, and 2 900–3 100 against 3 550–3 750 帮助 a second with one worker
(docs/benchmarks.md, session 15). A transaction that writes only unlogged tables
commits without that wait.

What an unlogged table gives up is exactly what this record can spare:

* after a crash of PostgreSQL itself (not a clean restart, not a restart of wecrm)
  the table comes back empty. A URL taken on in the last ``timestamp_window`` seconds
  before the crash could then be posted again with another body until its timestamp
  is refused as stale: the same window the SQLite batch leaves open
  (``models.signed_urls``), here only on a database crash;
* a streaming replica holds none of it: after a failover the guard starts empty,
  likewise for at most ``timestamp_window`` seconds.

No foreign key points at the table or from it, which UNLOGGED would forbid. The ALTER
rewrites the table — a day of records at most (the ``prune`` job) — under an exclusive
lock, like any migration while the bot is stopped. SQLite has no such thing: nothing to
do there.
"""

from tortoise import migrations
from tortoise.migrations import operations as ops


def _is_postgres(schema_editor) -> bool:
    return schema_editor.client.capabilities.dialect == "postgres"


async def forward(apps, schema_editor) -> None:
    if _is_postgres(schema_editor):
        # A no-op when the table is unlogged already.
        await schema_editor.client.execute_script('ALTER TABLE "signed_url" SET UNLOGGED')


async def backward(apps, schema_editor) -> None:
    if _is_postgres(schema_editor):
        await schema_editor.client.execute_script('ALTER TABLE "signed_url" SET LOGGED')


class Migration(migrations.Migration):
    dependencies = [("models", "0017_followup_plan")]

    initial = False

    operations = [ops.RunPython(forward, backward)]
