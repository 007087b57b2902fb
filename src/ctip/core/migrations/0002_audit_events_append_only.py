"""Make the audit trail append-only in the database itself: no UPDATE, no DELETE."""

from django.db import migrations

MESSAGE = "audit events are append-only"


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        for op in ("UPDATE", "DELETE"):
            schema_editor.execute(
                f"CREATE TRIGGER core_auditevent_no_{op.lower()} BEFORE {op} ON core_auditevent "
                f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;"
            )
    elif vendor == "postgresql":
        schema_editor.execute(
            "CREATE OR REPLACE FUNCTION core_auditevent_append_only() RETURNS trigger "
            f"LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '{MESSAGE}'; END $$;"
        )
        schema_editor.execute(
            "CREATE TRIGGER core_auditevent_no_change BEFORE UPDATE OR DELETE ON core_auditevent "
            "FOR EACH ROW EXECUTE FUNCTION core_auditevent_append_only();"
        )


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS core_auditevent_no_update;")
        schema_editor.execute("DROP TRIGGER IF EXISTS core_auditevent_no_delete;")
    elif vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS core_auditevent_no_change ON core_auditevent;")
        schema_editor.execute("DROP FUNCTION IF EXISTS core_auditevent_append_only();")


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
