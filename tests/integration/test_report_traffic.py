"""Simulated customers through the real gateway (text and Kakao routes, the embedded backend),
with a known effect: the report must find it, count every session's end as it happened, and
never show a session id or a phone number.

The customers are scripted, their choices seeded: those who hear the emoji variant of the
"added" reply order with probability 0.37, the others with 0.30, a true 7-point lift; traffic
runs until both arms have the sample the experiment's power calculation asks for (90% power).
"""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
import subprocess
import sys
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.integration.conftest import ROOT, Gateway, running_gateway
from voicegw.experiments.stats import required_sample

SEED = 2026
CONVERTS = {"control": 0.30, "emoji": 0.37}
BASELINE, LIFT, POWER = 0.30, 0.07, 0.9
PHONE = "010-2345-6789"
STORE = "burger-ko"
EXPERIMENT = f"""
id: added-emoji
reply: added
variants:
  - {{name: control, weight: 50}}
  - name: emoji
    weight: 50
    text: {{ko: "{{lines}} 담았어요 😊 더 필요하신 건 없으세요?", en: "Added {{lines}} 😊 Anything else?"}}
metric: conversion
guardrails: [handoff, not_understood]
baseline: {BASELINE}
lift: {LIFT}
power: {POWER}
"""
ORDERS = ["새우버거 하나 주세요", "새우버거 두 개 주세요", "새우버거 한 개요"]
LEAVING_WORDS = ["화장실 어디예요?", "여기 강아지 데리고 와도 되나요", f"제 번호는 {PHONE} 이에요 나중에 연락 주세요",
                 "기프티콘 써도 되나요"]


@dataclass
class Customer:
    session: str
    path: str
    channel: str
    variant: str | None = None
    replies: list[dict] = field(default_factory=list)

    @property
    def ended(self) -> str:
        """How the session ended, from what the gateway answered."""
        if any(r.get("handoff") for r in self.replies):
            return "handed_off"
        if any(r.get("order_id") for r in self.replies):
            return "ordered"
        if self.path == "order":
            return "abandoned"
        return "answered" if self.path == "faq" else "other"


def _say(gw: Gateway, c: Customer, text: str) -> dict:
    if c.channel == "kakao":
        body = {"userRequest": {"utterance": text, "lang": "ko", "user": {"id": c.session, "type": "botUserKey"}},
                "bot": {"id": STORE}}
        answer = gw.post_json(f"/kakao/skill?store={STORE}", body)
        assert answer.status == 200, answer.body
        result = answer.body["data"]
    else:
        answer = gw.post_json("/v1/text/orders", {"store": STORE, "session": c.session, "text": text})
        assert answer.status == 200, answer.body
        result = answer.body
    c.replies.append(result)
    return result


def _visit(gw: Gateway, c: Customer) -> Customer:
    rng = random.Random(f"{SEED}:{c.session}")
    if c.path == "faq":
        assert _say(gw, c, "배달 되나요")["faq"] == "delivery"
        return c
    if c.path == "greet":
        _say(gw, c, "안녕하세요")
        return c
    added = _say(gw, c, rng.choice(ORDERS))
    assert added["status"] == "ok" and added["reply"]["kind"] == "added", added
    c.variant = added["reply"]["experiment"]["variant"]
    assert ("😊" in added["reply"]["text"]) == (c.variant == "emoji")
    if rng.random() < CONVERTS[c.variant]:
        assert _say(gw, c, "주문 완료")["order_id"]
    elif rng.random() < 0.12:
        assert _say(gw, c, "직원 불러 주세요")["handoff"]
    elif rng.random() < 0.3:
        _say(gw, c, rng.choice(LEAVING_WORDS))
    return c


def _paths(start: int, count: int) -> list[Customer]:
    rng = random.Random(f"{SEED}:paths:{start}")
    return [Customer(f"sim-{i:05d}", rng.choices(["order", "faq", "greet"], [0.9, 0.06, 0.04])[0],
                     rng.choice(["text", "text", "kakao"])) for i in range(start, start + count)]


@pytest.fixture(scope="module")
def traffic(tmp_path_factory: pytest.TempPathFactory):
    data = tmp_path_factory.mktemp("report-data")
    experiments = data / "experiments"
    experiments.mkdir()
    (experiments / "added-emoji.yaml").write_text(EXPERIMENT, encoding="utf-8")
    needed = required_sample(BASELINE, LIFT, power=POWER, tau=LIFT).sequential_per_variant
    customers: list[Customer] = []
    with running_gateway(data, {"VOICEGW_EXPERIMENTS_DIR": str(experiments)}) as gw:
        with ThreadPoolExecutor(4) as pool:
            while min(Counter(c.variant for c in customers).get(v, 0) for v in CONVERTS) < needed:
                customers += pool.map(lambda c: _visit(gw, c), _paths(len(customers), 400))
        _age(gw.database, timedelta(hours=2))  # read two hours later: no session is still going
        yield gw, customers, needed, data


def _age(database: Path, by: timedelta) -> None:
    """Move every logged moment back, as if the report were read later."""
    with sqlite3.connect(database) as c:
        for table in ("turn_log", "experiment_exposures"):
            rows = c.execute(f"SELECT id, at FROM {table}").fetchall()
            c.executemany(f"UPDATE {table} SET at = ? WHERE id = ?",
                          [((datetime.fromisoformat(at) - by).isoformat(timespec="milliseconds"), i) for i, at in rows])


def _report(gw: Gateway, query: str = f"?store={STORE}") -> dict:
    answer = gw.get(f"/v1/admin/report{query}")
    assert answer.status == 200, answer.body
    return answer.body


def test_the_report_finds_the_true_lift_with_the_planned_sample(traffic) -> None:
    gw, customers, needed, _ = traffic
    x = _report(gw)["experiments"][0]
    arms = {v["name"]: v for v in x["variants"]}
    assert min(a["sessions"] for a in arms.values()) >= needed == x["min_per_variant"]
    assert not x["srm"]["alert"]
    assert x["verdict"]["decision"] == "treatment_better" and x["verdict"]["variant"] == "emoji"
    comparison = x["comparisons"][0]
    assert comparison["seq_ci"][0] > 0 and comparison["ci"][0] <= LIFT <= comparison["ci"][1]
    exposed = Counter(c.variant for c in customers if c.variant)
    assert {n: a["sessions"] for n, a in arms.items()} == dict(exposed)
    ordered = Counter(c.variant for c in customers if c.ended == "ordered")
    assert {n: a["successes"] for n, a in arms.items()} == dict(ordered)
    print(f"\nsessions {dict(exposed)}, rates {[round(a['rate'], 3) for a in arms.values()]}, "
          f"diff {comparison['diff']:.3f}, always-valid CI {[round(v, 3) for v in comparison['seq_ci']]}")


def test_every_session_ends_as_it_happened(traffic) -> None:
    gw, customers, _, _ = traffic
    rollup = _report(gw)["segments"][0]
    ended = Counter(c.ended for c in customers)
    assert rollup["outcomes"] == {name: ended.get(name, 0) for name in rollup["outcomes"]}
    assert rollup["sessions"] == len(customers)
    assert rollup["turns"] == sum(len(c.replies) for c in customers)
    assert [s["sessions"] for s in rollup["funnel"]] == [
        len(customers), sum(c.path == "order" for c in customers), ended["ordered"]]
    channels = {s["channel"]: s["sessions"] for s in _report(gw)["segments"][1:]}
    assert channels == {ch: sum(c.channel == ch for c in customers) for ch in ("kakao", "text")}


def test_the_report_names_no_customer(traffic) -> None:
    gw, _, _, _ = traffic
    text = json.dumps(_report(gw), ensure_ascii=False)
    assert "sim-" not in text and PHONE not in text and "2345-6789" not in text
    page = gw.get(f"/v1/admin/report?store={STORE}&format=html")
    assert page.status == 200 and "<script" not in page.body and PHONE not in page.body


def test_bad_report_queries_are_refused_with_a_reason(traffic) -> None:
    gw, _, _, _ = traffic
    for query, code in [("?store=nowhere", "unknown_store"), ("?channel=fax", "bad_channel"),
                        ("?since=yesterday", "bad_date"), ("?format=pdf", "bad_format")]:
        answer = gw.get(f"/v1/admin/report{query}")
        assert answer.status in (400, 404) and answer.body["error"]["code"] == code


def test_the_command_writes_the_same_report_and_a_page(traffic, tmp_path: Path) -> None:
    gw, customers, _, data = traffic
    out = tmp_path / "report"
    run = subprocess.run([sys.executable, "-m", "voicegw.cli", "report", "--store", STORE, "--out", str(out),
                          "--data-dir", str(data), "--experiments", str(data / "experiments")],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "treatment_better" in run.stdout
    written = json.loads((out / "report.json").read_text(encoding="utf-8"))
    served = _report(gw)
    assert written["segments"][0]["outcomes"] == served["segments"][0]["outcomes"]
    assert written["experiments"][0]["variants"] == served["experiments"][0]["variants"]
    _screenshot(out / "report.html")


def _screenshot(page: Path) -> None:
    """The HTML report as a store owner sees it (build/screenshots/report.png, for the docs)."""
    chromium = shutil.which("chromium")
    if chromium is None:
        return
    from playwright.sync_api import sync_playwright

    target = ROOT / "build" / "screenshots"
    target.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        view = browser.new_page(viewport={"width": 1100, "height": 1400})
        view.route("**/*", lambda route: route.abort() if not route.request.url.startswith("file:") else route.continue_())
        view.goto(page.as_uri())
        view.screenshot(path=str(target / "report.png"), full_page=True)
        browser.close()


def test_a_deleted_customer_leaves_every_later_report(traffic) -> None:
    gw, customers, _, _ = traffic
    before = _report(gw)
    gone = next(c for c in customers if c.ended == "ordered" and c.variant == "emoji")
    request_ok = gw.delete(f"/v1/admin/users/{gone.session}")
    assert request_ok.status == 200
    after = _report(gw)
    assert after["segments"][0]["outcomes"]["ordered"] == before["segments"][0]["outcomes"]["ordered"] - 1
    arms = lambda r: {v["name"]: (v["sessions"], v["successes"]) for v in r["experiments"][0]["variants"]}  # noqa: E731
    assert arms(after)["emoji"] == (arms(before)["emoji"][0] - 1, arms(before)["emoji"][1] - 1)
