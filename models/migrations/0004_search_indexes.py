"""Indexes for customer search that only PostgreSQL can build.

- ``name_pinyin varchar_pattern_ops``: the pinyin prefix searches (「zhang…」).
- pg_trgm GIN on ``upper(company)`` and ``name``: the substring searches
  (「华东精密」 in 「华东精密机械有限公司」) that would otherwise scan the table.

SQLite needs none of them at the size it serves. pg_trgm is a trusted extension
(PostgreSQL 13+): whoever may create objects in the database may install it; where
that is not allowed the trigram indexes are skipped with a warning and search still
works, only slower.
"""

import logging

from tortoise import migrations
from tortoise.migrations import operations as ops

log = logging.getLogger("wecrm.migrations")

# The expressions repeat Tortoise's SQL to the letter (it writes
# ``UPPER(CAST("company" AS VARCHAR)) LIKE …``): PostgreSQL only uses an expression
# index whose expression matches the query's.
PATTERN_INDEX = (
    "CREATE INDEX IF NOT EXISTS idx_customer_pinyin_pattern "
    "ON customer (CAST(name_pinyin AS VARCHAR) varchar_pattern_ops)"
)
TRIGRAM_INDEXES = (
    "CREATE INDEX IF NOT EXISTS idx_customer_company_trgm "
    "ON customer USING gin (upper(CAST(company AS VARCHAR)) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS idx_customer_name_trgm "
    "ON customer USING gin (CAST(name AS VARCHAR) gin_trgm_ops)",
)


def _is_postgres(schema_editor) -> bool:
    return schema_editor.client.capabilities.dialect == "postgres"


async def forward(apps, schema_editor) -> None:
    if not _is_postgres(schema_editor):
        return
    client = schema_editor.client
    await client.execute_script(PATTERN_INDEX)
    rows = await client.execute_query_dict(
        "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') AS installed, "
        "has_database_privilege(current_database(), 'CREATE') AS may_create, "
        "EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') AS available"
    )
    state = rows[0]
    if not state["installed"]:
        if not (state["available"] and state["may_create"]):
            log.warning("pg_trgm unavailable: substring search on customers stays a scan")
            return
        await client.execute_script("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for sql in TRIGRAM_INDEXES:
        await client.execute_script(sql)


async def backward(apps, schema_editor) -> None:
    if not _is_postgres(schema_editor):
        return
    await schema_editor.client.execute_script(
        "DROP INDEX IF EXISTS idx_customer_pinyin_pattern; "
        "DROP INDEX IF EXISTS idx_customer_company_trgm; "
        "DROP INDEX IF EXISTS idx_customer_name_trgm"
    )


class Migration(migrations.Migration):
    dependencies = [("models", "0003_complaints")]

    initial = False

    operations = [ops.RunPython(forward, backward)]
