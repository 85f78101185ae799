"""The ``avatar-driver`` command: serve, models, rig, vocabulary, avatar, analyze, record, ab, vmc, user."""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from pathlib import Path

from avatar_mapping.strategies import DEFAULT_STRATEGY, STRATEGIES

from .settings import Settings


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return _run(settings, args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="avatar-driver", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP/WebSocket server")
    serve.add_argument("--host", help="bind address (AVATAR_DRIVER_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (AVATAR_DRIVER_PORT, default 8000)")
    serve.add_argument(
        "--cluster",
        help="NATS servers, nats://[user:password@]host:4222[,...] (AVATAR_DRIVER_CLUSTER): "
        "run as part of a cluster (docs/scaling.md); default: embedded, one process",
    )
    serve.add_argument("--bus", dest="bus_deprecated", help=argparse.SUPPRESS)  # the former name of --cluster
    serve.add_argument(
        "--role",
        choices=("edge", "worker", "all"),
        help="on a cluster: edge (client transports), worker (sessions) or all (AVATAR_DRIVER_ROLE)",
    )
    serve.add_argument(
        "--vmc-listen",
        type=int,
        metavar="PORT",
        help="VMC in: take a VMC stream (an ARKit tracker) on this UDP port, on loopback unless "
        "AVATAR_DRIVER_VMC_LISTEN_HOST says otherwise; sessions use it with hello source 'vmc' "
        "(docs/vmc.md)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        help="face and voice inference in N worker processes (AVATAR_DRIVER_INFERENCE_WORKERS; "
        "default 0: threads in the server process); docs/scaling.md",
    )

    models = sub.add_parser("models", help="list or fetch model files")
    msub = models.add_subparsers(dest="models_command", required=True)
    fetch = msub.add_parser("fetch", help="download and verify models (all when none named)")
    fetch.add_argument("names", nargs="*")
    fetch.add_argument(
        "--from",
        dest="from_dir",
        type=Path,
        help="take a folder model (sensevoice) from a local copy instead of its hub",
    )
    msub.add_parser("list", help="show models and whether they are present")

    rig = sub.add_parser("rig", help="build rig definitions from avatars")
    rsub = rig.add_subparsers(dest="rig_command", required=True)
    inspect = rsub.add_parser("inspect", help="read a GLB/glTF/VRM and build its rig definition")
    inspect.add_argument("avatar", type=Path)
    inspect.add_argument("--out", type=Path, help="write the rig JSON here (e.g. rigs/my-avatar.json)")
    inspect.add_argument("--id", help="rig id (default: from the file name)")

    sub.add_parser("vocabulary", help="write the generated TypeScript and C# vocabularies and wire constants")

    avatar = sub.add_parser("avatar", help="build the default avatar (a CC0 head with ARKit + viseme targets)")
    avatar.add_argument("--out", type=Path, default=Path("web_avatar/public/avatars/default.glb"))

    analyze = sub.add_parser("analyze", help="run the pipeline on an image, a video or an audio file")
    analyze.add_argument(
        "input",
        type=Path,
        help="image, video, or recorded audio of a spoken line (WAV, MP3, FLAC, OGG, M4A, ...: the voice "
        "alone, no face); with --emotion-report any recorded audio, minutes to hours",
    )
    analyze.add_argument(
        "--audio", type=Path, help="recorded audio to go with the video (its mouth comes from the voice)"
    )
    analyze.add_argument("--transcript", help="what is said in the audio (forced alignment); else phone recognition")
    analyze.add_argument(
        "--rig",
        default="arkit52",
        help="the avatar's rig id: one of rigs/*.json or an uploaded rig (`avatar-driver rig inspect` makes "
        "one); default arkit52 (the 52 ARKit blendshapes)",
    )
    analyze.add_argument(
        "--strategy",
        default=DEFAULT_STRATEGY,
        help=f"how features become the avatar's channels (docs/strategies.md): {', '.join(sorted(STRATEGIES))}; "
        f"default {DEFAULT_STRATEGY}",
    )
    analyze.add_argument("--format", choices=("jsonl", "cbor"), default="jsonl")
    analyze.add_argument(
        "--rate-hz",
        type=float,
        default=None,
        help="output frames per second (default: the video's frame rate; 60 for audio alone)",
    )
    analyze.add_argument("--mirror", action="store_true", help="mirror left/right (selfie avatars)")
    analyze.add_argument("--out", default="-", help="output file, or - for standard output")
    analyze.add_argument(
        "--emotion-report",
        type=Path,
        metavar="REPORT",
        help="instead of frames: the speech-emotion report of the audio (REPORT.html with "
        "REPORT.json beside it, or REPORT.json alone)",
    )

    rec = sub.add_parser("record", help="record a video's feature stream (no media) for A/B replays")
    rec.add_argument("input", type=Path, help="a video")
    rec.add_argument("--audio", type=Path, help="a WAV to go with it")
    rec.add_argument("--transcript", help="what is said in the audio")
    rec.add_argument("--rig", default="arkit52")
    rec.add_argument("--mirror", action="store_true")
    rec.add_argument("--rate-hz", type=float, default=60.0, help="the replay rate stored in the recording")
    rec.add_argument("--out", type=Path, required=True, help="the recording (.cborseq)")

    ab = sub.add_parser("ab", help="compare mapping strategies on a recording")
    absub = ab.add_subparsers(dest="ab_command", required=True)
    for name, text in (
        ("replay", "replay a recording through strategies A and B; prints the metrics"),
        ("report", "replay and write an HTML report with a JSON of its numbers"),
    ):
        cmd = absub.add_parser(name, help=text)
        cmd.add_argument("recording", type=Path)
        cmd.add_argument("--a", required=True, help="STRATEGY[:key=value,...] or STRATEGY:{json}")
        cmd.add_argument("--b", required=True, help="the other strategy")
        cmd.add_argument("--rig", help="rig id (default: the recording's)")
        cmd.add_argument(
            "--calibration",
            help="a table JSON file, or a user id: the user's latest table in "
            "calibration.sqlite3 of the data directory (AVATAR_DRIVER_DATA_DIR; "
            "give the server's)",
        )
        cmd.add_argument("--rate-hz", type=float, help="replay rate (default: the recording's)")
        cmd.add_argument(
            "--out",
            type=Path,
            help="replay: folder for a.cborseq, b.cborseq, metrics.json; "
            "report: the HTML file (the JSON goes beside it)",
        )

    vmc = sub.add_parser("vmc", help="send a session's frames to a VMC receiver (VSeeFace, VNyan...; docs/vmc.md)")
    vsub = vmc.add_subparsers(dest="vmc_command", required=True)
    vsend = vsub.add_parser("send", help="watch a session and send its frames as VMC to a receiver")
    vsend.add_argument("--session", required=True, help="the session's id or name")
    vsend.add_argument("--to", required=True, help="the receiver, HOST:PORT (VMC's port is 39539)")
    vsend.add_argument(
        "--profile",
        default="perfect_sync",
        choices=("perfect_sync", "vrm0", "vrm1", "all"),
        help="the blend names the receiver's avatar has",
    )
    vsend.add_argument(
        "--server",
        default=None,
        help="the server's ws:// address (default: this machine's, ws://127.0.0.1:PORT with "
        "AVATAR_DRIVER_PORT, default 8000)",
    )

    user = sub.add_parser("user", help="what the server keeps about a user")
    usub = user.add_subparsers(dest="user_command", required=True)
    erase = usub.add_parser("erase", help="erase a user's calibration history, recordings, votes and uploaded rigs")
    erase.add_argument("user_id")

    return parser


def _run(settings: Settings, args: argparse.Namespace) -> int:
    if args.command == "serve":
        return _serve(settings, args)
    if args.command == "models":
        return _models(settings, args)
    if args.command == "rig":
        return _rig(args)
    if args.command == "vocabulary":
        return _vocabulary()
    if args.command == "avatar":
        from .assets.default_avatar import write

        print(f"wrote {write(args.out)}")
        return 0
    if args.command == "record":
        return _record(settings, args)
    if args.command == "ab":
        return _ab(settings, args)
    if args.command == "user":
        return _erase_user(settings, args.user_id)
    if args.command == "vmc":
        return _vmc_send(settings, args)
    return _analyze(settings, args)


def _vmc_send(settings: Settings, args: argparse.Namespace) -> int:
    from .sinks.vmc import parse_target
    from .tools.vmc_send import default_server, run

    try:
        target = parse_target(args.to)
    except ValueError as e:
        print(f"avatar-driver: {e}", file=sys.stderr)
        return 2
    server = args.server or default_server(settings.host, settings.port)
    return run(server, args.session, target, args.profile, settings.watch_token or settings.token)


def _record(settings: Settings, args: argparse.Namespace) -> int:
    from .models.store import ModelError
    from .tools.analyze import AnalyzeError, AnalyzeOptions
    from .tools.record import record

    options = AnalyzeOptions(
        input=args.input,
        rig=args.rig,
        rate_hz=args.rate_hz,
        mirror=args.mirror,
        audio=args.audio,
        transcript=args.transcript,
    )
    try:
        n = record(options, settings, args.out)
    except (AnalyzeError, ModelError) as e:
        print(f"avatar-driver record: {e}", file=sys.stderr)
        return 1
    print(f"wrote {args.out}: {n} samples", file=sys.stderr)
    return 0


def _ab(settings: Settings, args: argparse.Namespace) -> int:
    import json

    from calibration.table import CalibrationError, CalibrationTable

    from .assets.rig_store import RigStore
    from .assets.strategy_registry import StrategyRegistry
    from .protocol.recording import Recording, RecordingError
    from .stores.calibration import CalibrationStore
    from .stores.votes import VoteStore
    from .tools.ab_replay import ReplayError, Variant, replay
    from .tools.ab_report import report_data, write_report
    from .tools.ab_stats import results

    try:
        rec = Recording.read(args.recording)
        rigs = RigStore.from_dir(settings.rigs_dir, settings.data_dir / "rigs")
        rig = rigs.get(args.rig or rec.header.rig)
        if rig is None:
            raise ReplayError(f"unknown rig {args.rig or rec.header.rig!r}; available: {rigs.ids()}")
        calibration = None
        if args.calibration:
            if Path(args.calibration).is_file():
                calibration = CalibrationTable.from_dict(json.loads(Path(args.calibration).read_text()))
            else:
                path = settings.data_dir / "calibration.sqlite3"
                store = CalibrationStore(path)
                calibration = store.get(args.calibration)
                store.close()
                if calibration is None:
                    raise ReplayError(
                        f"no calibration stored for user {args.calibration!r} in {path} "
                        "(set AVATAR_DRIVER_DATA_DIR to the server's data directory, "
                        "or give a table JSON file)"
                    )
        registry = StrategyRegistry(settings.rigs_dir)
        a, b = (replay(rec, Variant.parse(v), rig, registry, calibration, args.rate_hz) for v in (args.a, args.b))
    except (ReplayError, RecordingError, CalibrationError, OSError, json.JSONDecodeError) as e:
        print(f"avatar-driver ab {args.ab_command}: {e}", file=sys.stderr)
        return 1
    votes_db = settings.data_dir / "ab_votes.sqlite3"
    votes = None
    if votes_db.is_file():
        vote_store = VoteStore(votes_db)
        votes = results(vote_store.all())
        vote_store.close()
    data = report_data(args.recording.name, a, b, votes)
    if args.ab_command == "report":
        out = args.out or args.recording.with_suffix(".html")
        write_report(out, out.with_suffix(".json"), data, a, b)
        print(f"wrote {out} and {out.with_suffix('.json')}", file=sys.stderr)
        return 0
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "a.cborseq").write_bytes(a.stream_bytes())
        (args.out / "b.cborseq").write_bytes(b.stream_bytes())
        (args.out / "metrics.json").write_text(json.dumps(data, indent=1))
    print(json.dumps(data, indent=1))
    return 0


def _erase_user(settings: Settings, user_id: str) -> int:
    """The stores of the data folder, without a server (stop it first: SQLite allows one writer
    at a time, and a running server would keep the user's table in its sessions)."""
    import json

    from .assets.rig_store import RigStore
    from .stores.calibration import CalibrationStore
    from .stores.recordings import RecordingStore
    from .stores.users import erase_user
    from .stores.votes import VoteStore

    data = settings.data_dir
    calibration, votes = CalibrationStore(data / "calibration.sqlite3"), VoteStore(data / "ab_votes.sqlite3")
    try:
        erased = erase_user(
            user_id,
            calibration,
            RecordingStore(data / "recordings"),
            votes,
            RigStore.from_dir(settings.rigs_dir, data / "rigs"),
        )
    finally:
        calibration.close()
        votes.close()
    print(json.dumps(erased.as_dict()))
    return 0


def _rig(args: argparse.Namespace) -> int:
    import json

    from .assets.rig_inspect import RigInspectError, inspect_file, summary

    try:
        rig = inspect_file(args.avatar, args.id)
    except RigInspectError as e:
        print(f"avatar-driver rig inspect: {e}", file=sys.stderr)
        return 1
    print(summary(rig))
    if args.out:
        args.out.write_text(json.dumps(rig.to_dict(), indent=1) + "\n")
        print(f"wrote {args.out}")
    return 0


def _vocabulary() -> int:
    from .protocol.codegen import generated_files
    from .settings import REPO_ROOT

    for relative, text in generated_files().items():
        path = REPO_ROOT / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        print(f"wrote {relative}")
    return 0


def apply_serve_arguments(settings: Settings, args: argparse.Namespace) -> str | None:
    """`serve`'s options over the environment's settings; what is wrong with them, if anything."""
    if args.host:
        settings.host = args.host
    if args.port:
        settings.port = args.port
    if args.workers is not None:
        if args.workers < 0:
            return "--workers must be 0 or more"
        settings.inference_workers = args.workers
    if args.vmc_listen is not None:
        settings.vmc_listen = args.vmc_listen
    if args.bus_deprecated:
        warnings.warn("--bus is deprecated: use --cluster (the same NATS servers)", FutureWarning, stacklevel=2)
        settings.cluster = args.bus_deprecated
    if args.cluster:
        settings.cluster = args.cluster
    if args.role:
        settings.role = args.role
    return None


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app

    refusal = apply_serve_arguments(settings, args)
    if refusal is not None:
        print(f"avatar-driver: {refusal}", file=sys.stderr)
        return 2
    app = create_app(settings)
    print(f"avatar-driver: serving on http://{settings.host}:{settings.port}", file=sys.stderr)
    # Above our own message limit, so oversized messages get a protocol error, not a dropped socket.
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        ws_max_size=max(16 << 20, 4 * settings.max_message_bytes),
        timeout_graceful_shutdown=settings.shutdown_grace_s,
    )
    return 0


def _models(settings: Settings, args: argparse.Namespace) -> int:
    from .models.store import ModelError, ModelStore

    store = ModelStore(settings.models)
    if args.models_command == "list":
        for name, entry in sorted(store.manifest.items()):
            state = "ready" if store.is_ready(name) else "optional" if entry.optional else "missing"
            print(f"{name:20} {state:8} {store.path(name)}  {entry.description}")
        return 0
    names = args.names or sorted(n for n, e in store.manifest.items() if not e.optional)
    if args.from_dir is not None and len(names) != 1:
        print("avatar-driver: --from takes exactly one model name", file=sys.stderr)
        return 2
    try:
        for name in names:
            store.fetch(name, from_dir=args.from_dir)
    except ModelError as e:
        print(f"avatar-driver: {e}", file=sys.stderr)
        return 1
    return 0


def _analyze(settings: Settings, args: argparse.Namespace) -> int:
    if args.emotion_report is not None:
        return _speech_emotion_report(settings, args.input, args.emotion_report)
    from avatar_mapping.rig import RigError

    from .models.store import ModelError
    from .tools.analyze import AnalyzeError, AnalyzeOptions, AnalyzeSummary, analyze

    options = AnalyzeOptions(
        input=args.input,
        rig=args.rig,
        strategy=args.strategy,
        encoding=args.format,
        rate_hz=args.rate_hz,
        mirror=args.mirror,
        audio=args.audio,
        transcript=args.transcript,
    )
    summary = AnalyzeSummary()
    try:
        if args.out == "-":
            analyze(options, settings, sys.stdout.buffer, summary)
        else:
            with open(args.out, "wb") as out:
                analyze(options, settings, out, summary)
    except (AnalyzeError, ModelError, RigError) as e:
        print(f"avatar-driver analyze: {e}", file=sys.stderr)
        return 1
    for line in summary.lines():
        print(f"avatar-driver analyze: {args.input.name}: {line}", file=sys.stderr)
    return 0


def _speech_emotion_report(settings: Settings, audio: Path, report: Path) -> int:
    from .inference.audio_file import AudioFileError
    from .inference.speech_service import SpeechService
    from .models.store import ModelError, ModelStore
    from .tools.speech_emotion import analyze_speech_emotion, options_for, scorer_for
    from .tools.speech_emotion_html import write_report

    if not settings.emotion_inference:
        print(
            "avatar-driver analyze: emotion inference is disabled (AVATAR_DRIVER_EMOTION_INFERENCE=false)",
            file=sys.stderr,
        )
        return 1
    if not audio.is_file():
        print(f"avatar-driver analyze: no such file: {audio}", file=sys.stderr)
        return 1
    speech = SpeechService.from_settings(settings)
    speech.load()

    def progress(seconds: float) -> None:
        print(f"\ranalysed {seconds / 60:.1f} min of audio", end="", file=sys.stderr, flush=True)

    try:
        result = analyze_speech_emotion(
            audio,
            ModelStore(settings.models).require("silero_vad"),
            scorer_for(speech),
            options_for(settings),
            progress,
        )
    except (AudioFileError, ModelError) as e:
        print(f"\navatar-driver analyze: {audio}: {e}", file=sys.stderr)
        return 1
    finally:
        speech.close()
    files = write_report(result, report, f"Speech emotion: {audio.name}")
    print(f"\n{len(result.utterances)} utterances; wrote {', '.join(map(str, files))}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
