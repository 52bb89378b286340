import pytest

from bot.cli import main
from bot.settings import SettingsError, get_settings, load_settings


def test_defaults():
    settings = load_settings(_env_file=None)
    assert settings.DATABASE_URL == "sqlite:///centrale.db"
    assert settings.CENTRALE_TIMEZONE == "Europe/Paris"
    assert settings.TELEGRAM_API_URL == "https://api.telegram.org/bot"


def test_each_tender_source_has_its_api_url():
    settings = load_settings(_env_file=None, BOAMP_API_URL="http://boamp.test/records",
                             TED_API_URL="http://ted.test/search")
    assert settings.tender_api_url("boamp") == "http://boamp.test/records"
    assert settings.tender_api_url("ted") == "http://ted.test/search"


@pytest.mark.parametrize("name, value", [
    ("DATABASE_URL", "mysql://x"),
    ("DATABASE_URL", "not a url"),
    ("CENTRALE_TIMEZONE", "Mars/Olympus"),
    ("TELEGRAM_BOT_TOKEN", "no-colon"),
    ("TELEGRAM_API_URL", "ftp://x"),
    ("SMTP_URL", "http://mail"),
    ("LMTP_LISTEN", "nohostport"),
    ("CENTRALE_ADVISORS", "12345,bob"),
])
def test_wrong_value_names_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings(_env_file=None)
    assert str(error.value).startswith(f"{name}: ")
    assert "\n" not in str(error.value)


def test_advisors_parsed(monkeypatch):
    monkeypatch.setenv("CENTRALE_ADVISORS", "123, conseil@centrale.fr ,456")
    settings = load_settings(_env_file=None)
    assert settings.advisor_ids == {123, 456}
    assert settings.advisor_emails == {"conseil@centrale.fr"}


def test_cli_prints_one_line_error(monkeypatch, capsys):
    monkeypatch.setenv("CENTRALE_TIMEZONE", "Nowhere/Land")
    get_settings.cache_clear()
    try:
        assert main(["db", "upgrade"]) == 2
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert err.strip() == "Configuration error: CENTRALE_TIMEZONE: expected a time zone name " \
                          "such as Europe/Paris"
