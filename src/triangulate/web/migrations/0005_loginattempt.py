"""Password checks in progress or failed, counted by the lockout (so parallel guesses cannot race it)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("triangulate_web", "0004_audit_no_replace")]
    operations = [
        migrations.CreateModel(
            name="LoginAttempt",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("user_name", models.CharField(db_index=True, max_length=150)),
                ("at", models.DateTimeField(auto_now_add=True, db_index=True)),
            ],
        ),
    ]
