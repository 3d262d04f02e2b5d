"""Priorities and actions of the provision gap analysis (one per area, intercept and need)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("triangulate_web", "0002_audit_append_only")]
    operations = [
        migrations.CreateModel(
            name="PlanItem",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("area", models.CharField(max_length=40)),
                ("intercept", models.CharField(max_length=1)),
                ("need_code", models.CharField(max_length=40)),
                ("priority", models.CharField(max_length=10)),
                ("rationale", models.TextField(blank=True, max_length=1000)),
                ("action", models.TextField(max_length=2000)),
                ("owner", models.CharField(max_length=150)),
                ("due", models.DateField(blank=True, null=True)),
                ("status", models.CharField(default="planned", max_length=20)),
                ("publication", models.CharField(blank=True, max_length=20)),
                ("created_by", models.CharField(max_length=150)),
                ("updated_by", models.CharField(max_length=150)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={"ordering": ["area", "intercept", "need_code"]},
        ),
        migrations.AddConstraint(
            model_name="planitem",
            constraint=models.UniqueConstraint(fields=("area", "intercept", "need_code"), name="one_item_per_gap"),
        ),
    ]
