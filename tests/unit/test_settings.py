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


def test_auto_workers_share_the_cores_out_and_batch_only_on_a_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    import voicegw.settings as settings_module
    from voicegw.settings import AsrSettings

    monkeypatch.setattr(settings_module, "available_cores", lambda: 2)
    asr = AsrSettings()
    assert (asr.workers_on("cpu"), asr.threads_per_worker("cpu"), asr.batch_size_on("cpu")) == (2, 1, 1)
    assert (asr.workers_on("cuda"), asr.batch_size_on("cuda")) == (1, 16)
    monkeypatch.setattr(settings_module, "available_cores", lambda: 16)
    assert (asr.workers_on("cpu"), asr.threads_per_worker("cpu")) == (4, 4)
    chosen = AsrSettings(workers=1, cpu_threads=3, batch_size=8)
    assert (chosen.workers_on("cpu"), chosen.threads_per_worker("cpu"), chosen.batch_size_on("cpu")) == (1, 3, 8)
    assert AsrSettings(workers=1).threads_per_worker("cpu") == 16


@pytest.mark.parametrize(("variable", "value"), [("WORKERS", "0"), ("WORKERS", "17"), ("BATCH_SIZE", "0"),
                                                 ("BATCH_SIZE", "65"), ("BATCH_SIZE", "many")])
def test_worker_and_batch_counts_are_auto_or_in_range(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> None:
    monkeypatch.setenv(f"VOICEGW_ASR__{variable}", value)
    with pytest.raises(ValidationError):
        Settings.load()
