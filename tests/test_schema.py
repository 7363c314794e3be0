"""The OpenAPI document generates without a warning and validates (a warning means a parameter or
an answer is documented as something it is not, e.g. a boolean filter shown as a string)."""

from django.core.management import call_command


def test_openapi_schema_has_no_warning_and_validates(tmp_path, db):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text(encoding="utf-8")
    assert "/api/v1/units/{id}/stops/" in text and "/api/v1/summary/" in text
