"""What each CLI command does, given parsed arguments and the settings built in ``main``."""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING

from voicegw.asr.models import MODEL_SOURCES, install_model, list_models, resolve_model
from voicegw.settings import Settings

if TYPE_CHECKING:
    from voicegw.gateway.keys import KeyStore


def serve(args: argparse.Namespace, settings: Settings) -> int:
    from voicegw.gateway.app import SERVICES, create_app
    from voicegw.gateway.limits import server_options
    from voicegw.serving import run_gateway

    # Fail now, with the fix in the message, rather than serve a gateway that cannot hear.
    resolve_model(settings.asr.model, settings.asr.models_dir)
    app = create_app(settings)
    host, port = settings.server.host, settings.server.port
    stores = ", ".join(sorted(app[SERVICES].menus))
    banner = _banner(host, port, stores)
    run_gateway(app, host, port, lambda: print(banner, flush=True), **server_options(settings))
    return 0


def _banner(host: str, port: int, stores: str) -> str:
    base = f"http://{host}:{port}"
    return (
        f"voicegw listening on {base} (stores: {stores})\n"
        f"  send a clip:  curl -s -H 'Content-Type: audio/wav' --data-binary @audio_fixtures/ko/burger_shrimp_2.wav "
        f"'{base}/v1/voice/orders?store=burger-ko&session=demo'\n"
        f"  type a turn:  curl -s -H 'Content-Type: application/json' "
        f"-d '{{\"store\":\"burger-ko\",\"session\":\"demo\",\"text\":\"주문 완료\"}}' {base}/v1/text/orders\n"
        f"  ready?        curl -s {base}/readyz"
    )


def models(args: argparse.Namespace, settings: Settings) -> int:
    models_dir = settings.asr.models_dir
    if args.models_command == "list":
        for model in list_models(models_dir):
            state = "installed" if model.installed else "not installed"
            print(f"{model.name:8} {state:14} {model.languages:28} {model.path}")
        return 0
    names = [args.name] if args.name else list(MODEL_SOURCES)
    for name in names:
        path = install_model(name, models_dir)
        print(f"installed {name} -> {path} (SHA-256 verified)")
    return 0


def transcribe(args: argparse.Namespace, settings: Settings) -> int:
    from voicegw.asr.engine import TranscriberPool
    from voicegw.asr.loader import load_transcriber
    from voicegw.pipeline import build_pipeline

    pool = TranscriberPool(load_transcriber(settings.asr))
    pipeline = build_pipeline(settings, {}, pool, None)
    language = args.lang or settings.default_language
    transcript, _ = asyncio.run(pipeline.recognise(_read(args.audio), language=language))
    pool.close()
    print(transcript.text if transcript else "")
    return 0


def order(args: argparse.Namespace, settings: Settings) -> int:
    from voicegw.cli import print_json

    result = asyncio.run(_order(args, settings))
    print_json(result.to_json())
    return 0


async def _order(args: argparse.Namespace, settings: Settings):
    from voicegw.db import database_url
    from voicegw.gateway.inputs import new_session_id
    from voicegw.pipeline import TurnContext
    from voicegw.standalone import standalone_pipeline

    async with standalone_pipeline(settings, settings.database_path, settings.backend.url,
                                   database_url=database_url(settings)) as pipeline:
        ctx = TurnContext(store=args.store, session=args.session or new_session_id(), language=args.lang)
        return await pipeline.voice_turn(_read(args.audio), ctx)


def stream(args: argparse.Namespace, settings: Settings) -> int:
    """Each message as one JSON line, with the seconds since the first audio was sent."""
    import json

    from voicegw.stream_client import StreamPlan, load_pcm, play

    if args.speed <= 0:
        print("voicegw: --speed must be above 0", file=sys.stderr)
        return 2
    url = args.url or f"http://{settings.server.host}:{settings.server.port}"
    plan = StreamPlan(url=url, store=args.store, session=args.session, lang=args.lang, speed=args.speed,
                      api_key=args.api_key, partials=False if args.no_partials else None,
                      tail_silence_ms=args.tail_silence_ms)
    pcm = load_pcm(args.audio)

    def show(received) -> None:
        print(json.dumps({"t": round(received.at_s, 3), **received.message}, ensure_ascii=False), flush=True)

    import aiohttp

    try:
        run = asyncio.run(play(plan, pcm, show))
    except aiohttp.WSServerHandshakeError as err:
        print(f"voicegw: the gateway refused the stream (HTTP {err.status}); the same request as a plain GET says why", file=sys.stderr)
        return 2
    except aiohttp.ClientError as err:
        print(f"voicegw: cannot stream to {url}: {err}", file=sys.stderr)
        return 2
    errors = [r.message for r in run.messages if r.message.get("type") == "error"]
    return 1 if errors else 0


def parse(args: argparse.Namespace, settings: Settings) -> int:
    from voicegw.cli import print_json
    from voicegw.nlu.loader import load_menus
    from voicegw.nlu.parser import understand
    from voicegw.pipeline import Pipeline

    menu = Pipeline(menus=load_menus(settings.menus_dir), transcriber=None, backend=None).menu_for(args.store)
    understanding = understand(args.text, menu, args.lang or menu.language)
    print_json(understanding.model_dump(mode="json"))
    return 0


def _read(path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        print(f"voicegw: cannot read {path}: {err.strerror}", file=sys.stderr)
        raise SystemExit(2) from err


def evaluate(args: argparse.Namespace, settings: Settings) -> int:
    from voicegw.qa.command import run

    return run(args, settings)


def stories(args: argparse.Namespace, settings: Settings) -> int:
    from voicegw.qa.story_command import run

    return run(args, settings)


def keys(args: argparse.Namespace, settings: Settings) -> int:
    from voicegw.gateway.keys import KeyStore

    store = KeyStore.from_settings(settings)
    try:
        return _keys(args, settings, store)
    finally:
        store.close()


def _keys(args: argparse.Namespace, settings: Settings, store: KeyStore) -> int:
    from voicegw.db import database_url
    from voicegw.gateway.scopes import ROLE_SCOPES

    if args.keys_command == "create":
        key, token = store.create(args.name, args.role)
        print(f"created key {key.id} ({key.name}, role {key.role}: {', '.join(sorted(ROLE_SCOPES[key.role]))})")
        print("token (shown only now; store it in the client's secret store):")
        print(token)
        return 0
    if args.keys_command == "revoke":
        key = store.revoke(args.key_id)
        print(f"revoked key {key.id} ({key.name}) at {key.revoked_at}")
        return 0
    listed = store.list()
    if args.json:
        from voicegw.cli import print_json

        print_json([key.public() for key in listed])
        return 0
    if not listed:
        print(f"no API keys in {settings.database_path if database_url(settings) is None else 'the database.url database'}")
    for key in listed:
        state = f"revoked {key.revoked_at}" if key.revoked_at else "active"
        print(f"{key.id}  {key.role:6} {key.name:24} created {key.created_at}  last used {key.last_used_at or 'never'}  {state}")
    return 0


def purge(args: argparse.Namespace, settings: Settings) -> int:
    from voicegw.privacy.command import run_purge

    return run_purge(args, settings)


def privacy(args: argparse.Namespace, settings: Settings) -> int:
    from voicegw.privacy.command import run_privacy

    return run_privacy(args, settings)


def report(args: argparse.Namespace, settings: Settings) -> int:
    from voicegw.analytics.command import run_report

    return run_report(args, settings)


def experiments(args: argparse.Namespace, settings: Settings) -> int:
    from voicegw.analytics.command import run_experiments

    return run_experiments(args, settings)
