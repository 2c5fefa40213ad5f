"""Fill ``StageEvent.stay_started_at`` and ``stay_due_at`` for the transitions written before 0015.

A transition's stay is told by the transition before it in the same history: the stay began when
that one entered the stage this one leaves, and was due when that one said. One UPDATE … FROM over
``LAG`` per batch of applications, in SQL on PostgreSQL and SQLite (3.33 and later) alike; only
where the earlier transition did enter the stage the later one leaves, and only where nothing is
recorded yet (a transition written since 0015 carries its own).

The hashes stay as they were: these events were hashed without a stay, and ``verify_history``
accepts a stay outside the hash only when it is exactly the one the chain tells
(``applications.history.stay_from_chain``, the same rule in Python).

Not atomic as a whole: each batch commits on its own, so a large history never sits in one long
transaction, and a run that stops half-way can simply be run again.
"""

from django.db import migrations, transaction

BATCH_APPLICATIONS = 20_000

FILL = """
UPDATE {event} AS e SET stay_started_at = s.entered_at, stay_due_at = s.entered_due
FROM (
    SELECT id, from_stage,
           LAG(to_stage) OVER w AS entered_stage,
           LAG(created_at) OVER w AS entered_at,
           LAG(due_at) OVER w AS entered_due
    FROM {event}
    WHERE kind = 'transition' AND application_id >= %s AND application_id < %s
    WINDOW w AS (PARTITION BY application_id ORDER BY sequence)
) AS s
WHERE e.id = s.id AND s.entered_stage = s.from_stage AND e.stay_started_at IS NULL
"""


def fill(apps, schema_editor):
    StageEvent = apps.get_model("applications", "StageEvent")
    connection = schema_editor.connection
    table = connection.ops.quote_name(StageEvent._meta.db_table)
    sql = FILL.format(event=table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT MIN(application_id), MAX(application_id) FROM {table}")  # noqa: S608
        low, high = cursor.fetchone()
    if low is None:
        return
    for start in range(low, high + 1, BATCH_APPLICATIONS):
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(sql, [start, start + BATCH_APPLICATIONS])


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("applications", "0015_event_stays"),
    ]

    operations = [
        migrations.RunPython(fill, migrations.RunPython.noop, elidable=True),
    ]
