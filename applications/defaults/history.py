"""The configuration's history starts with what stands: one "created" row per existing object (and
its many-to-many links), so the first change made in the admin shows what it changed. Called by
the data migrations that follow the historical tables (applications 0027, reviews 0005), with
their historical registry; the history rows name no user ("as it stood when its history began")."""

from __future__ import annotations

from django.apps.registry import Apps
from django.utils import timezone

REASON = "As it stood when its history began"


def history_baseline(apps: Apps, app_label: str, model_names: list[str], m2m: dict[str, str]) -> None:
    """A "+" row for every object of each model that has no history yet; ``m2m`` names, per model,
    the many-to-many field whose links the historical row keeps."""
    now = timezone.now()
    for name in model_names:
        model = apps.get_model(app_label, name)
        historical = apps.get_model(app_label, f"Historical{name}")
        recorded = set(historical.objects.values_list("id", flat=True).distinct())
        columns = [f.attname for f in model._meta.concrete_fields]
        field = model._meta.get_field(m2m[name]) if name in m2m else None
        for obj in model.objects.exclude(pk__in=recorded).order_by("pk"):
            row = historical.objects.create(
                **{column: getattr(obj, column) for column in columns},
                history_date=now,
                history_type="+",
                history_change_reason=REASON,
            )
            if field is None:
                continue
            through = field.remote_field.through
            links = apps.get_model(app_label, f"Historical{name}_{field.name}")
            source, target = field.m2m_field_name(), field.m2m_reverse_field_name()
            links.objects.bulk_create(
                links(
                    id=link.pk,
                    history=row,
                    **{f"{source}_id": obj.pk, f"{target}_id": getattr(link, f"{target}_id")},
                )
                for link in through.objects.filter(**{f"{source}_id": obj.pk})
            )
