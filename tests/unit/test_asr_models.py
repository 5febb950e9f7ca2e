"""Offline model provisioning: assembled from PyPI packages, hash-checked, clear errors."""

from pathlib import Path

import pytest

from voicegw.asr.models import MODEL_SOURCES, install_model, list_models, resolve_model
from voicegw.errors import ModelError


@pytest.fixture(scope="module")
def installed_tiny(tmp_path_factory) -> Path:
    models_dir = tmp_path_factory.mktemp("models")
    install_model("tiny.en", models_dir)
    return models_dir


def test_install_assembles_verified_model(installed_tiny: Path) -> None:
    directory = resolve_model("tiny.en", installed_tiny)
    assert {p.name for p in directory.iterdir()} >= {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
    assert not [p for p in installed_tiny.iterdir() if p.name.startswith(".")], "no staging leftovers"


def test_base_is_assembled_from_two_parts() -> None:
    source = MODEL_SOURCES["base"]
    assert [part.path for part in source.weight_parts] == ["data/model.bin.part1", "data/model.bin.part2"]


def test_missing_model_names_the_fixing_command(tmp_path: Path) -> None:
    with pytest.raises(ModelError) as info:
        resolve_model("base", tmp_path)
    assert info.value.code == "model_missing"
    assert "voicegw models install" in info.value.message


def test_corrupt_model_is_refused(installed_tiny: Path, tmp_path: Path) -> None:
    broken = tmp_path / "tiny.en"
    broken.mkdir()
    original = (installed_tiny / "tiny.en" / "model.bin").read_bytes()
    (broken / "model.bin").write_bytes(original[:-1] + bytes([original[-1] ^ 0xFF]))
    with pytest.raises(ModelError) as info:
        resolve_model("tiny.en", tmp_path)
    assert info.value.code == "model_corrupt"
    assert "voicegw models install tiny.en" in info.value.message


def test_model_by_path_needs_model_bin(tmp_path: Path, installed_tiny: Path) -> None:
    assert resolve_model(str(installed_tiny / "tiny.en"), tmp_path) == installed_tiny / "tiny.en"
    with pytest.raises(ModelError) as info:
        resolve_model(str(tmp_path), tmp_path)
    assert info.value.code == "model_missing"


def test_unknown_model_name() -> None:
    with pytest.raises(ModelError) as info:
        install_model("large-v9", Path("/nonexistent"))
    assert info.value.code == "model_unknown"


def test_list_reports_installation(installed_tiny: Path) -> None:
    state = {m.name: m.installed for m in list_models(installed_tiny)}
    assert state == {"base": False, "tiny.en": True}
