"""Data: the default follow-up plans (3, 6 and 12 months after training...)."""

from django.db import migrations

# Kept here rather than imported, so the migration does not change when the code does.
PLANS = {
    "training": ([3, 6, 12], False),
    "loan": ([], True),
    "iga": ([3, 6, 12], False),
    "education": ([6, 12], False),
    "savings": ([6], False),
}


def add_plans(apps, schema_editor):  # type: ignore[no-untyped-def]
    FollowUpPlan = apps.get_model("interventions", "FollowUpPlan")
    for component, (months, monthly) in PLANS.items():
        FollowUpPlan.objects.get_or_create(
            component=component,
            defaults={"months_after": months, "monthly_while_active": monthly},
        )


def remove_plans(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("interventions", "FollowUpPlan").objects.filter(component__in=PLANS).delete()


class Migration(migrations.Migration):
    dependencies = [("interventions", "0001_interventions")]

    operations = [migrations.RunPython(add_plans, remove_plans)]
