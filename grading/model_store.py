"""Where the speech models live, and how they get there.

Every caller that needs a model asks this module. For each model the places are tried in order:
1. the model's environment variable (e.g. ``WHISPER_MODEL_PATH``),
2. ``models/<name>/`` in the project,
3. ``../shared/models/<name>/`` beside the project,
4. a download into ``models/<name>/``, verified by SHA-256, with a progress bar.
A model is never committed: ``models/`` is ignored by git.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

PROJECT_ROOT = Path(__file__).resolve().parent.parent

# A failed download is not retried for this long, so that repeated set-up runs stay fast offline.
RETRY_AFTER_S = 24 * 3600


class ModelNotFound(Exception):
    """No usable copy of a model was found (and none could be downloaded)."""


class ModelDownloadError(Exception):
    """A download failed: network, HTTP status or checksum."""


@dataclass(frozen=True)
class RemoteFile:
    url: str
    sha256: str
    size: int | None = None
    path: str = ""  # where the file goes inside the model folder (for file-by-file downloads)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    env_var: str
    engine: str
    required_files: tuple[str, ...]
    archive: RemoteFile | None = None  # a zip whose single top folder is the model
    files: tuple[RemoteFile, ...] = ()  # or the model's files one by one
    licence: str = ""
    note_when_missing: str = ""

    def is_model_dir(self, path: Path) -> bool:
        return path.is_dir() and all((path / f).is_file() for f in self.required_files)


@dataclass(frozen=True)
class Resolution:
    spec: ModelSpec
    path: Path
    source: str  # "env", "project", "shared" or "download"


_HF = "https://huggingface.co/Systran/faster-whisper-base/resolve/main/"

WHISPER_BASE = ModelSpec(
    name="faster-whisper-base",
    env_var="WHISPER_MODEL_PATH",
    engine="whisper",
    required_files=("model.bin", "config.json", "tokenizer.json", "vocabulary.txt"),
    files=(
        RemoteFile(_HF + "model.bin", "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9",
                   145217532, "model.bin"),
        RemoteFile(_HF + "config.json", "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
                   2309, "config.json"),
        RemoteFile(_HF + "tokenizer.json", "fb7b63191e9bb045082c79fd742a3106a12c99513ab30df4a0d47fa6cb6fd0ab",
                   2203239, "tokenizer.json"),
        RemoteFile(_HF + "vocabulary.txt", "34ce3fe1c5041027b3f8d42912270993f986dbc4bb34cf27f951e34a1e453913",
                   459861, "vocabulary.txt"),
    ),
    licence="MIT (OpenAI Whisper, CTranslate2 conversion by Systran)",
)

VOSK_SMALL_CN = ModelSpec(
    name="vosk-model-small-cn-0.22",
    env_var="VOSK_MODEL_PATH",
    engine="vosk",
    required_files=("am/final.mdl", "conf/model.conf", "graph/HCLr.fst", "graph/Gr.fst"),
    archive=RemoteFile(
        "https://alphacephei.com/vosk/models/vosk-model-small-cn-0.22.zip",
        "3af8b0e7e0f835ae9d414ce5df580237a3cfb08d586c9fbbb0f7ff29ad5b14ba",
    ),
    licence="Apache-2.0 (Alpha Cephei)",
    note_when_missing="speech recognition uses Whisper instead",
)

SPECS: dict[str, ModelSpec] = {s.name: s for s in (VOSK_SMALL_CN, WHISPER_BASE)}


def _spec(model: str | ModelSpec) -> ModelSpec:
    if isinstance(model, ModelSpec):
        return model
    try:
        return SPECS[model]
    except KeyError:
        raise ModelNotFound(f"unknown model {model!r}; known: {', '.join(SPECS)}") from None


def candidates(model: str | ModelSpec, *, env: Mapping[str, str] | None = None,
               project_root: Path | None = None) -> list[tuple[str, Path]]:
    """The places searched for a model, in order, as (source, path)."""
    spec = _spec(model)
    env = os.environ if env is None else env
    root = PROJECT_ROOT if project_root is None else Path(project_root)
    places = []
    if env.get(spec.env_var):
        places.append(("env", Path(env[spec.env_var]).expanduser()))
    places.append(("project", root / "models" / spec.name))
    places.append(("shared", root.parent / "shared" / "models" / spec.name))
    return places


def locate(model: str | ModelSpec, *, env: Mapping[str, str] | None = None,
           project_root: Path | None = None) -> Resolution:
    """Find a model on disk without downloading. Raises ModelNotFound with every place tried.

    A path given in the environment variable that is not a model is an error of its own: the user
    asked for that copy, so silently using another one would hide a misconfiguration.
    """
    spec = _spec(model)
    tried = []
    for source, path in candidates(spec, env=env, project_root=project_root):
        if spec.is_model_dir(path):
            return Resolution(spec, path.resolve(), source)
        if source == "env":
            missing = [f for f in spec.required_files if not (path / f).is_file()]
            raise ModelNotFound(
                f"{spec.env_var}={path} is not a {spec.name} model folder "
                f"(missing: {', '.join(missing)})")
        tried.append(str(path))
    raise ModelNotFound(
        f"{spec.name} not found (set {spec.env_var}, or place it in one of: {'; '.join(tried)})")


def find(model: str | ModelSpec, **kwargs) -> Resolution | None:
    try:
        return locate(model, **kwargs)
    except ModelNotFound:
        return None


# ---- downloading ---------------------------------------------------------------------------------

def _progress(total: int | None, desc: str, quiet: bool):
    from tqdm import tqdm

    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=desc,
                disable=quiet, leave=False)


def download_file(remote: RemoteFile, dest: Path, *, quiet: bool = False,
                  timeout: float = 15.0) -> Path:
    """Stream ``remote`` to ``dest``, checking its SHA-256; nothing is left behind on failure."""
    import requests

    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    digest = hashlib.sha256()
    try:
        with requests.get(remote.url, stream=True, timeout=timeout) as resp:
            if resp.status_code != 200:
                raise ModelDownloadError(f"{remote.url}: HTTP {resp.status_code}")
            total = int(resp.headers.get("Content-Length") or 0) or remote.size
            with open(part, "wb") as out, _progress(total, dest.name, quiet) as bar:
                for chunk in resp.iter_content(chunk_size=1 << 16):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
    except requests.RequestException as exc:
        part.unlink(missing_ok=True)
        raise ModelDownloadError(f"{remote.url}: {type(exc).__name__}") from exc
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    if digest.hexdigest() != remote.sha256:
        part.unlink(missing_ok=True)
        raise ModelDownloadError(
            f"{remote.url}: checksum mismatch (got {digest.hexdigest()}, expected {remote.sha256})")
    part.replace(dest)
    return dest


def download(model: str | ModelSpec, *, project_root: Path | None = None,
             quiet: bool = False) -> Resolution:
    """Download a model into ``models/<name>/`` (atomically: a half download never looks like a model)."""
    spec = _spec(model)
    root = PROJECT_ROOT if project_root is None else Path(project_root)
    target = root / "models" / spec.name
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{spec.name}-", dir=target.parent))
    try:
        if spec.archive is not None:
            archive = download_file(spec.archive, staging / "model.zip", quiet=quiet)
            unpacked = staging / "unpacked"
            _safe_unzip(archive, unpacked)
            tops = [p for p in unpacked.iterdir()]
            model_dir = tops[0] if len(tops) == 1 and tops[0].is_dir() else unpacked
        elif spec.files:
            model_dir = staging / "files"
            for remote in spec.files:
                download_file(remote, model_dir / remote.path, quiet=quiet)
        else:
            raise ModelDownloadError(f"{spec.name} has no download source")
        if not spec.is_model_dir(model_dir):
            raise ModelDownloadError(f"{spec.name}: the download does not contain a model")
        if target.exists():
            shutil.rmtree(target)
        model_dir.replace(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Resolution(spec, target.resolve(), "download")


def _safe_unzip(archive: Path, dest: Path) -> None:
    dest.mkdir(parents=True)
    with zipfile.ZipFile(archive) as zf:
        for member in zf.infolist():
            target = (dest / member.filename).resolve()
            if not str(target).startswith(str(dest.resolve())):
                raise ModelDownloadError(f"unsafe path in archive: {member.filename}")
        zf.extractall(dest)


# ---- ensure: what set-up runs --------------------------------------------------------------------

def _failure_log(root: Path) -> Path:
    return root / "models" / ".download-failures.json"


def ensure(model: str | ModelSpec, *, env: Mapping[str, str] | None = None,
           project_root: Path | None = None, quiet: bool = False,
           retry: bool = False, now: Callable[[], float] = time.time) -> Resolution:
    """Find a model or download it. Raises ModelNotFound with a one-line reason when neither works."""
    spec = _spec(model)
    root = PROJECT_ROOT if project_root is None else Path(project_root)
    found = find(spec, env=env, project_root=root)
    if found:
        return found
    env_map = os.environ if env is None else env
    if env_map.get(spec.env_var):
        locate(spec, env=env, project_root=root)  # raises the precise error for a bad env path
    log_path = _failure_log(root)
    failures = _read_json(log_path)
    last = failures.get(spec.name)
    if last and not retry and now() - last["at"] < RETRY_AFTER_S:
        raise ModelNotFound(f"{spec.name} not found and could not be downloaded ({last['reason']})")
    try:
        return download(spec, project_root=root, quiet=quiet)
    except ModelDownloadError as exc:
        failures[spec.name] = {"at": now(), "reason": str(exc)}
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text(json.dumps(failures, ensure_ascii=False, indent=1))
        raise ModelNotFound(f"{spec.name} not found and could not be downloaded ({exc})") from exc


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
