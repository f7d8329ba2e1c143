"""Command line of the simulated call-center system: ``python -m softphone_sim --help``."""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

from .line import CONDITIONS, parse_condition
from .personas import PERSONAS
from .tts_engines import CHOICES, tts_status


def _say(args) -> int:
    from .render import render_line

    if args.persona not in PERSONAS:
        print(f"unknown persona {args.persona!r}; choose one of: {', '.join(PERSONAS)}", file=sys.stderr)
        return 2
    try:
        parse_condition(args.condition)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    try:
        line = render_line(args.text, persona=args.persona, condition=args.condition, engine=args.engine,
                           seed=args.seed)
    except RuntimeError as exc:                  # no voice engine on this machine, or the engine failed
        print(f"cannot speak: {exc}", file=sys.stderr)
        return 1
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(line.path, out)
    print(f"{args.output}: {line.duration_s:.2f} s, 16 kHz mono, voice {line.engine}, persona {line.persona}, "
          f"condition {line.condition}{' (cached)' if line.cache_hit else ''}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m softphone_sim",
                                     description="Simulated call-center system tools.")
    sub = parser.add_subparsers(dest="command", required=True)
    voices = sub.add_parser("voices", help="which caller-voice engines this machine can run")
    voices.add_argument("--engine", default="auto", choices=CHOICES)
    say = sub.add_parser("say", help="speak a caller line into a WAV file")
    say.add_argument("text")
    say.add_argument("-o", "--output", required=True)
    say.add_argument("--persona", default="calm", help=f"one of: {', '.join(PERSONAS)}")
    say.add_argument("--condition", default="none", help=f"e.g. noisy:snr=5+telephone; names: {', '.join(CONDITIONS)}")
    say.add_argument("--engine", default="auto", choices=CHOICES)
    say.add_argument("--seed", type=int, default=0, help="seed of the line condition's randomness")
    sub.add_parser("personas", help="list the caller personas")
    args = parser.parse_args(argv)
    if args.command == "voices":
        print(json.dumps(tts_status(args.engine), ensure_ascii=False, indent=2))
    elif args.command == "personas":
        for p in PERSONAS.values():
            print(f"{p.name}\t{p.label}\tspeed {p.speed:g}\tpitch {p.pitch_semitones:+g} st\tgain {p.gain_db:+g} dB")
    elif args.command == "say":
        return _say(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
