"""Command line of the grading package: ``python -m grading --help``."""
from __future__ import annotations

import argparse
import json
import os
import sys

from . import model_store
from .engine_choice import asr_status


def _cmd_models(args) -> int:
    if args.action == "status":
        print(json.dumps(asr_status(args.engine), ensure_ascii=False, indent=2))
        return 0
    # "ensure": find or fetch every model; a model that cannot be had is one line, not a failure,
    # as long as at least one recognition engine remains usable.
    for spec in model_store.SPECS.values():
        try:
            res = model_store.ensure(spec, quiet=args.quiet, retry=args.retry)
            print(f"[models] {spec.name}: {res.path} ({res.source})")
        except model_store.ModelNotFound as exc:
            tail = f"; {spec.note_when_missing}" if spec.note_when_missing else ""
            print(f"[models] {exc}{tail}")
    status = asr_status(args.engine)
    if status["engine"] is None:
        print(f"[models] no speech-recognition engine is usable (ASR_ENGINE={args.engine})", file=sys.stderr)
        return 1
    print(f"[models] speech recognition: {status['engine']} with {status['model']}")
    return 0


def _cmd_transcribe(args) -> int:
    from .asr import NoEngineAvailable, Recognizer, get_recognizer
    from .audio import AudioError, load_audio

    try:
        audio = load_audio(args.audio)
    except AudioError as exc:
        print(f"{exc.message} / {exc.message_en} ({exc})", file=sys.stderr)
        return 2
    recognizer: Recognizer
    try:
        if args.model_path:
            if args.engine == "vosk":
                from .asr.vosk_engine import VoskRecognizer
                recognizer = VoskRecognizer(args.model_path)
            else:
                from .asr.whisper_engine import WhisperRecognizer
                recognizer = WhisperRecognizer(args.model_path)
        else:
            recognizer = get_recognizer(args.engine)
    except (NoEngineAvailable, FileNotFoundError) as exc:
        print(str(exc), file=sys.stderr)
        return 1
    transcript = recognizer.transcribe(audio)
    if args.json:
        print(json.dumps(transcript.to_dict(), ensure_ascii=False))
    else:
        print(transcript.text)
    return 0


def _cmd_worker(args) -> int:
    if not args.redis_url:
        print("worker: set REDIS_URL or --redis-url", file=sys.stderr)
        return 2
    if args.cpu:
        os.sched_setaffinity(0, set(args.cpu))     # decoders default to one per pinned core
    from .asr.redis_queue import run_worker
    return run_worker(args.redis_url, name=args.name, decoders=args.decoders)


def _cmd_status(args) -> int:
    """The recognition service as /healthz reports it; exit 1 when it is degraded (for scripts)."""
    from .asr.service import ServiceSettings
    from .asr.status import recognition_status, redacted_url

    try:
        settings = ServiceSettings.from_env()
    except ValueError as exc:
        print(f"status: bad setting ({exc}); check ASR_WORKERS, ASR_HEARTBEAT_TTL_S", file=sys.stderr)
        return 2
    status = recognition_status(settings)
    if args.json:
        print(json.dumps(status, ensure_ascii=False, indent=2))
        return 0 if status["ok"] else 1
    print(f"recognition: {'ok' if status['ok'] else 'DEGRADED'} ({status['mode']})")
    if status["mode"] == "in-process":
        print("  in-process: each web process has its own queue; this command sees only its own, "
              "ask a web process's /healthz for its queue")
    elif status["mode"] == "redis":
        print(f"  redis: {redacted_url(settings.redis_url)} "
              f"{'reachable' if status['reachable'] else 'UNREACHABLE'}")
        if status["reachable"]:
            print(f"  workers alive: {status['workers_alive']} of {status['workers_expected']} expected "
                  f"(heartbeat expires after {status['heartbeat_ttl_s']:g} s)")
            for worker in status["workers"]:
                print(f"    {worker['name']}: last heartbeat {worker['last_heartbeat_s']} s ago, "
                      f"{worker['decoders']} decoder(s)")
            for worker in status["workers_missing"]:
                print(f"    {worker['name']}: MISSING (last seen {worker['last_seen_s']} s ago, "
                      f"holds {worker['holds']} job(s))")
            idle = status["oldest_pending_idle_s"]
            print(f"  finals waiting: {status['finals_waiting']}, jobs pending: {status['jobs_pending']}"
                  + (f" (oldest idle {idle} s)" if idle is not None else ""))
    for problem in status.get("problems", []):
        print(f"  ! {problem}")
    return 0 if status["ok"] else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grading", description="Speech models and grading tools.")
    sub = parser.add_subparsers(dest="command", required=True)
    models = sub.add_parser("models", help="find or download the speech models")
    models.add_argument("action", choices=["ensure", "status"])
    models.add_argument("--engine", default=os.environ.get("ASR_ENGINE", "auto"), choices=["auto", "vosk", "whisper"])
    models.add_argument("--retry", action="store_true", help="retry downloads that failed recently")
    models.add_argument("--quiet", action="store_true", help="no progress bar")
    models.set_defaults(func=_cmd_models)
    transcribe = sub.add_parser("transcribe", help="recognise the speech in an audio file")
    transcribe.add_argument("audio")
    transcribe.add_argument("--engine", default=os.environ.get("ASR_ENGINE", "auto"),
                            choices=["auto", "vosk", "whisper"])
    transcribe.add_argument("--model-path", help="use this model folder instead of the configured one")
    transcribe.add_argument("--json", action="store_true", help="print text, timings and confidences as JSON")
    transcribe.set_defaults(func=_cmd_transcribe)
    worker = sub.add_parser("worker", help="serve speech recognition for the web processes from Redis (scale-out)")
    worker.add_argument("--redis-url", default=os.environ.get("REDIS_URL", ""),
                        help="Redis to take jobs from (default: REDIS_URL)")
    worker.add_argument("--name", help="consumer name (default: host-pid)")
    worker.add_argument("--cpu", type=int, action="append",
                        help="pin this worker to CPU core N (repeatable), e.g. one worker per machine's share")
    worker.add_argument("--decoders", type=int,
                        help="utterances decoded at the same time, one model shared "
                             "(default: ASR_DECODERS, else one per core the worker may use, at most 8)")
    worker.set_defaults(func=_cmd_worker)
    status = sub.add_parser("status", help="how the recognition service is doing: Redis, workers, queued jobs")
    status.add_argument("--json", action="store_true", help="print the same fields as /healthz's recognition")
    status.set_defaults(func=_cmd_status)
    sub.add_parser("score", help="grade a stored call record against its scenario "
                                 "(score --scenario ID_OR_FILE --record CALL.json [--json])")
    sub.add_parser("validity", help="play the labelled validity suite and report agreement with the labels "
                                    "(validity [--audio] [--json] [-v] [PATH])")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["score"]:   # the rubric engine owns its command line
        from .rubric.cli import main as rubric_main
        return rubric_main(argv)
    if argv[:1] == ["validity"]:
        from .validity import main as validity_main
        return validity_main(argv[1:])
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
