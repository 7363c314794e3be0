"""geodata/choices.py: get_FOO_display() answers exactly what Django's own would, in both languages."""

from django.apps import apps
from django.db import models
from django.utils import translation

from geodata.choices import choice_display


def _opted_in() -> list[type[models.Model]]:
    return [m for m in apps.get_models() if m.__dict__.get("_get_FIELD_display") is choice_display]


def test_the_models_shown_in_lists_opt_in():
    names = {m._meta.label for m in _opted_in()}
    assert {"gridops.Report", "gridops.Unit", "gridops.Alert", "geodata.Team", "geodata.Matter"} <= names


def test_every_label_matches_djangos_for_every_choice_and_for_values_outside_them():
    checked = 0
    for model in _opted_in():
        for field in model._meta.concrete_fields:
            if not field.choices:
                continue
            display = getattr(model, f"get_{field.name}_display")
            values = [value for value, _label in field.flatchoices] + ["not-a-choice", 999, None]
            for value in values:
                instance = model()
                setattr(instance, field.attname, value)
                for language in ("zh-hans", "en"):
                    with translation.override(language):
                        ours = display(instance)
                        djangos = models.Model._get_FIELD_display(instance, field=field)
                    where = (model, field.name, value, language)
                    assert ours == djangos and type(ours) is type(djangos), where
                    checked += 1
    assert checked > 200


def test_labels_follow_the_language_of_the_request():
    from gridops.models import Report

    report = Report(status=Report.Status.NEW, source=Report.Source.GRID_WORKER)
    with translation.override("zh-hans"):
        chinese = report.get_status_display()
    with translation.override("en"):
        english = report.get_status_display()
    assert chinese == "待受理" and english != chinese and english.isascii()
    assert report.get_source_display() == "网格员上报"  # the default language
