"""Configuration: file, environment overrides, and one clear line for each mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config
from tests.conftest import AES_KEY, DATA_KEY

GOOD = f"""
[wechat]
token = "t0ken-value"
app_id = "wx1"
app_secret = "app-secret-value"
encoding_aes_key = "{AES_KEY}"
mode = "safe"
[security]
data_key = "{DATA_KEY}"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_file_then_environment(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    cfg = load_config(
        None,
        environ={
            "WECRM_CONFIG": str(path),
            "WECRM_SERVER_PORT": "9090",
            "WECRM_SIMULATOR_ENABLED": "true",
            "WECRM_BOT_REPLY_DEADLINE": "3.5",
        },
    )
    assert cfg.wechat.mode == "safe"
    assert cfg.server.port == 9090
    assert cfg.simulator.enabled is True
    assert cfg.bot.reply_deadline == 3.5


def test_example_config_documents_every_key(repo_root: Path) -> None:
    import dataclasses
    import tomllib

    from bot.config import Config

    example = tomllib.loads((repo_root / "config.example.toml").read_text(encoding="utf-8"))
    for section in dataclasses.fields(Config):
        keys = {f.name for f in dataclasses.fields(section.default_factory())}  # type: ignore[misc]
        assert set(example.get(section.name, {})) == keys, section.name
    # And it is a valid configuration once the secrets are filled in.
    cfg = load_config(
        repo_root / "config.example.toml",
        environ={
            "WECRM_WECHAT_TOKEN": "t",
            "WECRM_WECHAT_APP_ID": "wx1234567890abcdef",
            "WECRM_WECHAT_ENCODING_AES_KEY": AES_KEY,
            "WECRM_SECURITY_DATA_KEY": DATA_KEY,
        },
    )
    assert cfg.wechat.mode == "safe"  # the body is signed: no forged body under a seen URL
    with pytest.raises(ConfigError, match=r"wechat\.token"):
        load_config(repo_root / "config.example.toml", environ={})


@pytest.mark.parametrize(
    ("text", "env", "names"),
    [
        (GOOD.replace('mode = "safe"', 'mode = "secure"'), {}, "wechat.mode"),
        (GOOD.replace('token = "t0ken-value"', ""), {}, "wechat.token"),
        (GOOD, {"WECRM_SERVER_PORT": "eighty"}, "server.port"),
        (GOOD, {"WECRM_SECURITY_DATA_KEY": "short"}, "security.data_key"),
        (GOOD.replace(AES_KEY, "tooshort"), {}, "wechat.encoding_aes_key"),
        (GOOD + "\n[server]\nprot = 1\n", {}, "server.prot"),
        (GOOD + "\n[bot]\ntimezone = 'Mars/Olympus'\n", {}, "bot.timezone"),
        (GOOD + "\n[database]\nurl = 'mysql://x'\n", {}, "database.url"),
        (GOOD + "\n[security]\n", {}, "security"),
        ("not = [valid", {}, "not valid TOML"),
    ],
)
def test_mistakes_name_the_key(tmp_path: Path, text: str, env: dict[str, str], names: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path, environ=env)
    message = str(err.value)
    assert names in message
    assert "\n" not in message
    # Secrets are never echoed back.
    for secret in ("t0ken-value", "app-secret-value", DATA_KEY):
        assert secret not in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml", environ={})


def test_secrets_stay_out_of_repr(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD), environ={})
    text = repr(cfg)
    for secret in ("t0ken-value", "app-secret-value", AES_KEY, DATA_KEY):
        assert secret not in text


def test_plain_mode_is_warned_about_at_start(caplog: pytest.LogCaptureFixture) -> None:
    from bot.app import create_app
    from tests.conftest import make_config

    cfg = make_config("sqlite://:memory:", wechat={"mode": "plain"})
    with caplog.at_level("WARNING", logger="wecrm.http"):
        create_app(cfg, connect_db=False)
    assert any("plain" in r.getMessage() and "safe" in r.getMessage() for r in caplog.records)
