"""The scheduler: APScheduler 3.x wiring (``runner``), the jobs it runs (``jobs``) and
the PostgreSQL advisory lock that keeps a second scheduler on standby (``lock``).

Jobs only write outbox rows under deterministic keys, so a job run twice — by a
catch-up after downtime or by hand with ``wecrm jobs run`` — never sends twice.
"""
