"""Command line of the simulated call-center system: ``python -m softphone_sim --help``."""
from __future__ import annotations

import argparse
import json
import sys

from .tts_engines import CHOICES, tts_status


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m softphone_sim",
                                     description="Simulated call-center system tools.")
    sub = parser.add_subparsers(dest="command", required=True)
    voices = sub.add_parser("voices", help="which caller-voice engines this machine can run")
    voices.add_argument("--engine", default="auto", choices=CHOICES)
    args = parser.parse_args(argv)
    if args.command == "voices":
        print(json.dumps(tts_status(args.engine), ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
