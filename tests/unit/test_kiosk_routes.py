"""The kiosk page's files and the menu board they read, through the real app (scripted recogniser)."""

from __future__ import annotations

from pathlib import Path

from voicegw.gateway.app import create_app
from voicegw.gateway.auth import GATE
from voicegw.gateway.keys import KeyStore
from voicegw.settings import Settings

from tests.unit.app_support import ready_client
from tests.unit.test_auth import QuietTranscriber

ROOT = Path(__file__).resolve().parents[2]


async def client_for(aiohttp_client, tmp_path: Path):
    settings = Settings.load(data_dir=tmp_path, menus_dir=ROOT / "menus")
    return await ready_client(aiohttp_client, create_app(settings, transcriber=QuietTranscriber())), settings


async def test_the_page_and_its_files_are_served_from_the_package_with_a_strict_policy(aiohttp_client, tmp_path) -> None:
    client, _ = await client_for(aiohttp_client, tmp_path)
    page = await client.get("/kiosk?store=cafe-ko")
    assert page.status == 200 and page.content_type == "text/html"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    html = await page.text()
    for asset in ("/kiosk/kiosk.js", "/kiosk/kiosk.css"):
        assert asset in html
        assert (await client.get(asset)).status == 200
    assert (await client.get("/kiosk/capture.js")).content_type == "text/javascript"
    for hostile in ("/kiosk/..%2Fsettings.py", "/kiosk/nothing.js", "/kiosk/kiosk.py"):
        assert (await client.get(hostile)).status == 404, hostile


async def test_an_unknown_store_gets_no_page(aiohttp_client, tmp_path) -> None:
    client, _ = await client_for(aiohttp_client, tmp_path)
    answer = await client.get("/kiosk?store=nowhere")
    assert answer.status == 404 and (await answer.json())["error"]["code"] == "unknown_store"


async def test_the_menu_board_has_names_prices_and_options_from_the_menu_file(aiohttp_client, tmp_path) -> None:
    client, _ = await client_for(aiohttp_client, tmp_path)
    board = await (await client.get("/v1/menu?store=cafe-ko")).json()
    assert board["currency"] == "KRW" and board["language"] == "ko"
    americano = next(item for item in board["items"] if item["id"] == "americano")
    assert americano["name"]["ko"] == "아메리카노" and americano["price"] == 4500
    groups = {group["id"]: group for group in board["option_groups"]}
    assert set(americano["option_groups"]) <= set(groups)
    assert "faq" not in board and "misheard" not in board  # what a customer sees, nothing more


async def test_the_page_needs_no_key_but_the_menu_board_does(aiohttp_client, tmp_path) -> None:
    client, settings = await client_for(aiohttp_client, tmp_path)
    kiosk = KeyStore(settings.database_path).create("kiosk-1", "kiosk")[1]
    client.app[GATE].invalidate()  # the key was made after the app read the keys
    assert (await client.get("/kiosk?store=cafe-ko")).status == 200
    assert (await client.get("/v1/menu?store=cafe-ko")).status == 401
    assert (await client.get("/v1/menu?store=cafe-ko", headers={"Authorization": f"Bearer {kiosk}"})).status == 200
