"""The database itself refuses to change or delete audit events (SQLite and PostgreSQL triggers)."""

from django.db import migrations

TABLE = "triangulate_web_auditevent"


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    with schema_editor.connection.cursor() as cursor:
        if vendor == "sqlite":
            for action in ("UPDATE", "DELETE"):
                cursor.execute(
                    f"CREATE TRIGGER IF NOT EXISTS {TABLE}_no_{action.lower()} BEFORE {action} ON {TABLE} "
                    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END")
        elif vendor == "postgresql":
            cursor.execute(
                f"CREATE OR REPLACE FUNCTION {TABLE}_append_only() RETURNS trigger AS $$ "
                "BEGIN RAISE EXCEPTION 'the audit log is append-only'; END; $$ LANGUAGE plpgsql")
            cursor.execute(
                f"CREATE TRIGGER {TABLE}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON {TABLE} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_append_only()")


class Migration(migrations.Migration):
    dependencies = [("triangulate_web", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
