"""The plan's copy of each level's counters, kept by the database on every update of the level.

`planning_levelplan` repeats on_hand, allocated, backordered, on_order, safety_stock and
reorder_point of its level so the reorder screen reads one table. A trigger on
`inventory_stocklevel` copies them onto the level's plan row (when it has one) after every update
that changes any of them, whatever wrote it: a service, the admin, a rebuild or a bulk load.
"""

from django.db import migrations

MIRRORED = ("on_hand", "allocated", "backordered", "on_order", "safety_stock", "reorder_point")
SETS = ", ".join(f"{name} = NEW.{name}" for name in MIRRORED)
CHANGED = " OR ".join(f"OLD.{name} IS DISTINCT FROM NEW.{name}" for name in MIRRORED)
CHANGED_SQLITE = " OR ".join(f"OLD.{name} IS NOT NEW.{name}" for name in MIRRORED)
COLUMNS = ", ".join(MIRRORED)

POSTGRES_UP = [
    "CREATE FUNCTION planning_levelplan_copy_counters() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN UPDATE planning_levelplan SET {SETS} WHERE level_id = NEW.id; RETURN NULL; END $$",
    f"CREATE TRIGGER planning_levelplan_copy_counters AFTER UPDATE OF {COLUMNS} "
    f"ON inventory_stocklevel FOR EACH ROW WHEN ({CHANGED}) "
    "EXECUTE FUNCTION planning_levelplan_copy_counters()",
]
POSTGRES_DOWN = [
    "DROP TRIGGER IF EXISTS planning_levelplan_copy_counters ON inventory_stocklevel",
    "DROP FUNCTION IF EXISTS planning_levelplan_copy_counters()",
]
SQLITE_UP = [
    f"CREATE TRIGGER planning_levelplan_copy_counters AFTER UPDATE OF {COLUMNS} "
    f"ON inventory_stocklevel FOR EACH ROW WHEN {CHANGED_SQLITE} "
    f"BEGIN UPDATE planning_levelplan SET {SETS} WHERE level_id = NEW.id; END",
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS planning_levelplan_copy_counters"]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, ()):
            schema_editor.execute(statement)

    return run


class Migration(migrations.Migration):
    dependencies = [("planning", "0001_plan")]

    operations = [
        migrations.RunPython(
            _run({"postgresql": POSTGRES_UP, "sqlite": SQLITE_UP}),
            _run({"postgresql": POSTGRES_DOWN, "sqlite": SQLITE_DOWN}),
        )
    ]
