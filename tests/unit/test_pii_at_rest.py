"""Personal data said or typed in an order reaches no table and no file, by any route.

Before: carts.lines[].origin kept the customer's sentence ("라떼 한 잔 연락처는 공일공 일이삼사
오육칠팔"), 7 of 46 planted strings were in the raw database bytes, and a card number inside an
order was read as a quantity. Each sentence below is planted through the voice route (what the
recogniser heard), the text route and the kakao route; then every text cell of every table and the
raw bytes of every file under the data folder are searched for each personal value. On SQLite, and
on PostgreSQL once ``database.url`` is a setting (``db_support``; the tables, not its files).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.unit.app_support import ready_client
from tests.unit.db_support import Target, target  # noqa: F401  (the fixture)
from voicegw.asr.engine import TranscribeOptions, Transcript
from voicegw.db import open_database_url
from voicegw.gateway.app import create_app
from voicegw.settings import AudioSettings, Settings

ROOT = Path(__file__).resolve().parents[2]
SPEECH = (ROOT / "audio_fixtures" / "ko" / "cafe_americano_ice_2.wav").read_bytes()

# (what the customer said, with the store, and the personal values in it as they were written)
PLANTED = [
    ("cafe-ko", "라떼 한 잔 연락처는 공일공 일이삼사 오육칠팔", ["일이삼사 오육칠팔"]),
    ("cafe-ko", "아메리카노 두 잔이요 제 번호는 010-2345-6789", ["010-2345-6789", "2345-6789"]),
    ("cafe-ko", "케이크 하나 주시고 주민번호는 900101-1234567", ["900101-1234567"]),
    ("cafe-ko", "라떼 하나 배달지는 서울시 강남구 테헤란로 123", ["테헤란로 123"]),
    ("cafe-ko", "영수증은 kim.minsu@naver.com 으로 보내 주세요", ["kim.minsu@naver.com"]),
    ("coffee-en", "one latte please my card is 4111 1111 1111 1111", ["4111 1111 1111 1111"]),
    ("coffee-en", "a mocha, my number is zero one zero one two three four five six seven eight",
     ["five six seven eight"]),
    ("coffee-en", "two lattes and my card number is 378 282 246 310 005", ["246 310 005", "378 282 246"]),
    ("coffee-en", "a latte, email me at hungildonatexample.com", ["hungildonatexample"]),
    ("coffee-en", "deliver a mocha to 42 Wallaby Way, Apt 4B, postcode SW1A 1AA", ["Wallaby Way", "SW1A 1AA"]),
]


class HeardTranscriber:
    """Hears whatever the test says the customer said."""

    def __init__(self) -> None:
        self.text = ""

    def transcribe(self, samples: np.ndarray, options: TranscribeOptions) -> Transcript:
        return Transcript(text=self.text, language=options.language or "ko", confidence=0.9)


@pytest.fixture
def settings(tmp_path: Path, target: Target, monkeypatch: pytest.MonkeyPatch) -> Settings:
    target.use_in_settings(monkeypatch)
    return Settings.load(data_dir=tmp_path / "data", menus_dir=ROOT / "menus",
                         audio=AudioSettings(max_body_bytes=2 * 1024 * 1024, max_duration_s=20))


def _text_cells(settings: Settings) -> list[tuple[str, str]]:
    cells: list[tuple[str, str]] = []
    database = open_database_url(settings)
    with database.read() as db:
        for table in db.tables():
            for row in db.execute(f'SELECT * FROM "{table}"'):
                cells += [(table, value) for value in row if isinstance(value, str)]
    database.close()
    return cells


async def test_planted_personal_data_is_in_no_table_and_no_file(aiohttp_client, settings) -> None:
    heard = HeardTranscriber()
    client = await ready_client(aiohttp_client, create_app(settings, transcriber=heard))
    for n, (store, sentence, _) in enumerate(PLANTED):
        lang = "ko" if store.endswith("-ko") else "en"
        heard.text = sentence
        voice = await client.post(f"/v1/voice/orders?store={store}&session=v{n}&lang={lang}", data=SPEECH,
                                  headers={"Content-Type": "audio/wav", "Idempotency-Key": f"k{n}"})
        text = await client.post("/v1/text/orders", json={"store": store, "session": f"t{n}", "text": sentence, "lang": lang},
                                 headers={"Idempotency-Key": f"k{n}"})
        kakao = await client.post(f"/kakao/skill?store={store}", json={
            "userRequest": {"utterance": sentence, "lang": "kr" if lang == "ko" else "en", "user": {"id": f"kakao{n}"}},
            "bot": {"id": store}})
        for answer in (voice, text, kakao):
            assert answer.status == 200, await answer.text()
    await client.close()  # the gateway and its skill server close the database: the files are whole

    cells = _text_cells(settings)
    assert any(table == "turn_log" for table, _ in cells), "the turns were logged (redacted)"
    files = [p for p in settings.data_dir.rglob("*") if p.is_file()]
    for _, _, values in PLANTED:
        for value in values:
            found = [table for table, cell in cells if value in cell]
            assert not found, f"{value!r} stored in {found}"
            for path in files:
                assert value.encode() not in path.read_bytes(), f"{value!r} in the bytes of {path.name}"


async def test_a_card_number_in_an_order_is_no_quantity(aiohttp_client, settings) -> None:
    client = await ready_client(aiohttp_client, create_app(settings, transcriber=HeardTranscriber()))
    answer = await (await client.post("/v1/text/orders", json={
        "store": "coffee-en", "session": "card", "text": "one latte please my card is 4111 1111 1111 1111"})).json()
    assert answer["status"] == "ok" and [(l["item_id"], l["quantity"]) for l in answer["lines"]] == [("latte", 1)]
