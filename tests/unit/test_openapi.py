"""``/openapi.json`` is a valid OpenAPI 3.1 document covering every route the gateway has."""

from __future__ import annotations

from pathlib import Path

from openapi_spec_validator import validate

from voicegw.gateway.app import create_app
from voicegw.gateway.auth import route_key
from voicegw.gateway.openapi import ROUTES, openapi_document
from voicegw.settings import Settings

from tests.unit.app_support import ready_client
from tests.unit.test_auth import QuietTranscriber

ROOT = Path(__file__).resolve().parents[2]


def test_the_document_is_valid_openapi() -> None:
    validate(openapi_document())


def test_every_route_is_described_and_nothing_else(tmp_path: Path) -> None:
    app = create_app(Settings.load(data_dir=tmp_path, menus_dir=ROOT / "menus"), transcriber=QuietTranscriber())
    registered = {route_key(r.method, r.resource.canonical) for r in app.router.routes() if r.resource is not None}
    assert registered == set(ROUTES)


def test_the_turn_result_schema_is_the_models(tmp_path: Path) -> None:
    turn = openapi_document()["components"]["schemas"]["TurnResult"]
    assert {"status", "session", "store", "lines", "cart", "reply", "readings"} <= set(turn["properties"])


async def test_it_is_served_without_a_key(aiohttp_client, tmp_path: Path) -> None:
    app = create_app(Settings.load(data_dir=tmp_path, menus_dir=ROOT / "menus"), transcriber=QuietTranscriber())
    client = await ready_client(aiohttp_client, app)
    answer = await client.get("/openapi.json")
    assert answer.status == 200 and (await answer.json())["openapi"] == "3.1.0"
