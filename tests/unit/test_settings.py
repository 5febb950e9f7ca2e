"""Settings precedence: overrides > environment > YAML file > defaults."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from voicegw.settings import Settings


def test_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "voicegw.yaml"
    config.write_text("asr:\n  beam_size: 3\n  bias: hotwords\nserver:\n  port: 9000\n", encoding="utf-8")
    monkeypatch.setenv("VOICEGW_ASR__BEAM_SIZE", "2")
    settings = Settings.load(config, data_dir=tmp_path / "data")
    assert settings.asr.beam_size == 2  # environment beats the file
    assert settings.asr.bias == "hotwords"  # the file beats the default
    assert settings.server.port == 9000
    assert settings.database_path == tmp_path / "data" / "voicegw.db"


def test_data_dir_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEGW_DATA_DIR", str(tmp_path))
    assert Settings.load().data_dir == tmp_path


def test_invalid_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VOICEGW_AUDIO__VAD_AGGRESSIVENESS", "7")
    with pytest.raises(ValidationError):
        Settings.load()


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        Settings.load(tmp_path / "nope.yaml")
