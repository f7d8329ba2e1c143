"""Audio files made at test time with ffmpeg and espeak-ng (nothing binary is committed)."""
from __future__ import annotations

import csv
import subprocess
from pathlib import Path

HUMAN_DIR = Path(__file__).resolve().parents[2] / "shared" / "eval-audio" / "human"
if not HUMAN_DIR.is_dir():   # the project may sit elsewhere than /work/main
    HUMAN_DIR = Path("/work/shared/eval-audio/human")


def human_references() -> dict[str, dict]:
    with open(HUMAN_DIR / "manifest.tsv", encoding="utf-8") as fh:
        return {row["file"]: row for row in csv.DictReader(fh, delimiter="\t")}


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *args], check=True, timeout=120)


def convert(src: Path, dst: Path, *codec_args: str) -> Path:
    ffmpeg("-i", str(src), *codec_args, str(dst))
    return dst
