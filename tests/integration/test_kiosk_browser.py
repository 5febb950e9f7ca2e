"""The kiosk page in a real browser: Debian's Chromium driven by Playwright, its microphone a WAV
file (Chromium's fake capture device), against the real gateway (`voicegw serve`, the base model,
the embedded backend). A customer speaks an order, the cart shows it, and confirming stores the
order in the backend; push-to-talk and hands-free, Korean and English. Screenshots of every
scenario are written to build/screenshots/."""

from __future__ import annotations

import shutil
import wave
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from voicegw.stream_client import load_pcm

from tests.integration.conftest import FIXTURES, ROOT, Gateway, running_gateway

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = ROOT / "build" / "screenshots"
TURN_TIMEOUT_MS = 60_000


def microphone_file(tmp_path: Path, *clips: str, lead_s: float = 0.5, gap_s: float = 1.5, tail_s: float = 2.0) -> Path:
    """The clips as one 16 kHz WAV, with silence before, between and after (what the fake microphone plays once)."""
    silence = lambda s: np.zeros(int(16_000 * s), np.float32)  # noqa: E731
    parts = [silence(lead_s)]
    for clip in clips:
        parts += [load_pcm(FIXTURES / clip).samples, silence(gap_s)]
    parts.append(silence(tail_s))
    samples = (np.clip(np.concatenate(parts), -1, 1) * 32767).astype("<i2")
    path = tmp_path / "microphone.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16_000)
        out.writeframes(samples.tobytes())
    return path


@pytest.fixture(scope="module")
def playwright() -> Iterator:
    if not Path(CHROMIUM).exists():
        pytest.fail("the kiosk tests need Debian's Chromium: apt-get install chromium fonts-nanum (.ci/run does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


def open_kiosk(playwright, url: str, microphone: Path):
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=[
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--no-first-run", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone}%noloop",
    ])
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["microphone"])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(url)
    page.wait_for_selector("body[data-ready=true]", timeout=20_000)
    return browser, page, errors


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def confirm_and_check_stored(page, gw: Gateway, name: str) -> None:
    page.click("#confirm")
    page.wait_for_selector("#order-done:not(:empty)", timeout=TURN_TIMEOUT_MS)
    order_id = page.text_content("#order-done").split()[-1]
    shoot(page, name)
    assert len(gw.query("SELECT * FROM orders WHERE id = ?", order_id)) == 1


def wait_for_cart_item(page, item_id: str) -> None:
    page.wait_for_selector(f"#cart li[data-item={item_id}]", timeout=TURN_TIMEOUT_MS)


@pytest.mark.parametrize("store, clip, item, name", [
    ("burger-ko", "ko/burger_shrimp_2.wav", "shrimp_burger", "push-to-talk-ko"),
    ("coffee-en", "en/coffee_latte_large_iced_oat.wav", "latte", "push-to-talk-en"),
])
def test_push_to_talk_orders_and_confirm_stores_it(playwright, gateway: Gateway, tmp_path, store, clip, item, name) -> None:
    microphone = microphone_file(tmp_path, clip)
    browser, page, errors = open_kiosk(playwright, f"{gateway.base_url}/kiosk?store={store}", microphone)
    try:
        duration_s = len(load_pcm(microphone).samples) / 16_000
        page.hover("#talk-button")
        page.mouse.down()  # held: the microphone (the file) plays from here
        page.wait_for_selector("#status[data-state=listening]")
        shoot(page, f"{name}-listening")
        page.wait_for_timeout(int(duration_s * 1000))
        page.mouse.up()
        wait_for_cart_item(page, item)
        shoot(page, f"{name}-cart")
        assert page.text_content("#total")
        confirm_and_check_stored(page, gateway, f"{name}-ordered")
        assert errors == []
    finally:
        browser.close()


def test_hands_free_in_english_orders_and_confirms_by_voice(playwright, gateway: Gateway, tmp_path) -> None:
    microphone = microphone_file(tmp_path, "en/coffee_latte_large_iced_oat.wav", "en/coffee_confirm.wav", gap_s=2.5)
    browser, page, errors = open_kiosk(playwright, f"{gateway.base_url}/kiosk?store=coffee-en", microphone)
    try:
        page.check("#hands-free")
        wait_for_cart_item(page, "latte")
        shoot(page, "hands-free-en-cart")
        page.wait_for_selector("#order-done:not(:empty)", timeout=TURN_TIMEOUT_MS)
        order_id = page.text_content("#order-done").split()[-1]
        shoot(page, "hands-free-en-ordered")
        assert len(gateway.query("SELECT * FROM orders WHERE id = ?", order_id)) == 1
        assert errors == []
    finally:
        browser.close()


def test_hands_free_in_korean_with_a_kiosk_key(playwright, tmp_path) -> None:
    """A kiosk key given in the address's fragment; the stream opens with a single-use token."""
    from voicegw.gateway.keys import KeyStore

    data = tmp_path / "keyed"
    data.mkdir()
    token = KeyStore(data / "voicegw.db").create("kiosk-test", "kiosk")[1]
    microphone = microphone_file(tmp_path, "ko/burger_shrimp_2.wav")
    with running_gateway(data) as gw:
        assert gw.get("/v1/menu?store=burger-ko").status == 401  # keys exist: no development mode
        # capture=pcm: the page streams PCM16 from an AudioWorklet, as in a browser whose recorder
        # makes neither WebM nor Ogg (Safari); the English test streams MediaRecorder's WebM.
        browser, page, errors = open_kiosk(playwright, f"{gw.base_url}/kiosk?store=burger-ko&capture=pcm#key={token}", microphone)
        try:
            assert "#key" not in page.url  # taken out of the address bar at once
            page.check("#hands-free")
            wait_for_cart_item(page, "shrimp_burger")
            shoot(page, "hands-free-ko-cart")
            confirm_and_check_stored(page, gw, "hands-free-ko-ordered")
            assert errors == []
        finally:
            browser.close()


def test_a_refused_microphone_is_said_plainly(playwright, gateway: Gateway, tmp_path) -> None:
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
    try:
        page = browser.new_context().new_page()  # no fake device, no permission: getUserMedia fails
        page.goto(f"{gateway.base_url}/kiosk?store=coffee-en")
        page.wait_for_selector("body[data-ready=true]")
        page.focus("#talk-button")
        page.keyboard.down(" ")
        page.wait_for_selector("#status[data-state=error]", timeout=10_000)
        assert "microphone" in page.text_content("#status").lower()
        shoot(page, "microphone-refused-en")
    finally:
        browser.close()
