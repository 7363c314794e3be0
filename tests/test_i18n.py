"""Simplified Chinese by default, whatever the browser says; English when the user chooses it."""


def test_pages_are_chinese_even_for_an_english_browser(client):
    response = client.get("/api/v1/route/?lon=abc&lat=29", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert "必须是数字" in response.json()["lon"][0]


def test_english_when_chosen(client):
    client.cookies["django_language"] = "en"
    response = client.get("/api/v1/route/?lon=abc&lat=29", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert "Must be a number" in response.json()["lon"][0]


def test_every_message_has_an_english_translation():
    """`make messages` refreshes the catalogue; nothing in it may stay untranslated or fuzzy."""
    import subprocess
    from pathlib import Path

    po = Path(__file__).resolve().parent.parent / "locale" / "en" / "LC_MESSAGES" / "django.po"
    out = subprocess.run(
        ["msgfmt", "--statistics", "-o", "/dev/null", str(po)], capture_output=True, text=True, check=True
    ).stderr
    assert "untranslated" not in out and "fuzzy" not in out, out


def test_a_word_that_is_both_a_button_and_a_count_reads_right_in_each_place():
    """立案 is the dispatcher's button ("Register") and the dashboard's count ("Registered")."""
    from django.utils import translation

    from gridops.lifecycle import TRANSITIONS
    from gridops.selectors.indicators import COUNT_LABELS

    with translation.override("en"):
        assert str(TRANSITIONS["register"].label) == "Register"
        assert str(TRANSITIONS["not_register"].label) == "Decline to register"
        assert str(COUNT_LABELS["registered"]) == "Registered"
        assert str(COUNT_LABELS["not_registered"]) == "Not registered"
    with translation.override("zh-hans"):
        assert str(TRANSITIONS["register"].label) == str(COUNT_LABELS["registered"]) == "立案"
