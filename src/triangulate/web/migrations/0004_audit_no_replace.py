"""SQLite: ``INSERT OR REPLACE`` of an existing audit event is refused too.

REPLACE deletes the conflicting row without firing delete triggers (unless recursive triggers are on),
so the append-only triggers of 0002 did not see it: an event could be rewritten in place. An insert
whose id is already in the log is refused before SQLite resolves the conflict. PostgreSQL has no
REPLACE; its ``ON CONFLICT DO UPDATE`` fires the update trigger of 0002.
"""

from django.db import migrations

TABLE = "triangulate_web_auditevent"


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TRIGGER IF NOT EXISTS {TABLE}_no_replace BEFORE INSERT ON {TABLE} "
                f"WHEN NEW.id IS NOT NULL AND EXISTS (SELECT 1 FROM {TABLE} WHERE id = NEW.id) "
                "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END")


class Migration(migrations.Migration):
    dependencies = [("triangulate_web", "0003_planitem")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
