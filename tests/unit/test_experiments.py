"""Experiment files, sticky assignment, the reply said in a variant, and the results a report shows."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from voicegw.analytics.records import ExposureRecord, TurnRecord
from voicegw.dialogue import replies as R
from voicegw.experiments.assign import assign, bucket, vary_reply
from voicegw.experiments.config import Experiment, ExperimentError, load_experiments
from voicegw.experiments.results import experiment_results

ROOT = Path(__file__).resolve().parents[2]

EMOJI = {
    "id": "added-emoji", "reply": "added",
    "variants": [{"name": "control", "weight": 50},
                 {"name": "emoji", "weight": 50,
                  "text": {"ko": "{lines} 담았어요 😊 더 필요하신 건 없으세요?", "en": "Added {lines} 😊 Anything else?"}}],
}


def _experiment(**changes) -> Experiment:
    return Experiment.model_validate({**EMOJI, **changes})


def _write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def test_the_shipped_example_loads_and_is_stopped() -> None:
    experiments = load_experiments(ROOT / "experiments")
    assert experiments and all(e.status == "stopped" for e in experiments.values())


def test_no_folder_means_no_experiments(tmp_path: Path) -> None:
    assert load_experiments(tmp_path / "missing") == {}


@pytest.mark.parametrize(("change", "says"), [
    ({"reply": "adde"}, "unknown reply kind"),
    ({"variants": [{"name": "control", "weight": 1, "text": {"ko": "{lines}"}}, {"name": "b", "weight": 1, "text": {"ko": "x"}}]},
     "first variant is the control"),
    ({"variants": [{"name": "control", "weight": 1}, {"name": "b", "weight": 1, "text": {"ko": "{lines} {total}"}}]},
     "does not fill"),
    ({"variants": [{"name": "control", "weight": 1}, {"name": "b", "weight": 1}]}, "has no text"),
    ({"variants": [{"name": "control", "weight": 1}, {"name": "control", "weight": 1, "text": {"ko": "x"}}]}, "repeat"),
    ({"variants": [{"name": "control", "weight": 0}, {"name": "b", "weight": 1, "text": {"ko": "x"}}]}, "greater than 0"),
    ({"metric": "revenue"}, "metric"),
])
def test_a_bad_file_is_refused_naming_the_file_and_why(tmp_path: Path, change: dict, says: str) -> None:
    import yaml

    _write(tmp_path, "bad.yaml", yaml.safe_dump({**EMOJI, **change}, allow_unicode=True))
    with pytest.raises(ExperimentError) as err:
        load_experiments(tmp_path)
    assert "bad.yaml" in err.value.message and says in err.value.message


def test_two_running_experiments_may_not_vary_one_reply_in_one_store(tmp_path: Path) -> None:
    import yaml

    _write(tmp_path, "a.yaml", yaml.safe_dump(EMOJI, allow_unicode=True))
    _write(tmp_path, "b.yaml", yaml.safe_dump({**EMOJI, "id": "other"}, allow_unicode=True))
    with pytest.raises(ExperimentError, match="both vary"):
        load_experiments(tmp_path)
    _write(tmp_path, "b.yaml", yaml.safe_dump({**EMOJI, "id": "other", "status": "stopped"}, allow_unicode=True))
    assert set(load_experiments(tmp_path)) == {"added-emoji", "other"}


def test_changing_weights_or_words_starts_a_new_phase() -> None:
    base = _experiment()
    reweighted = _experiment(variants=[{**EMOJI["variants"][0], "weight": 90}, EMOJI["variants"][1]])
    reworded = _experiment(variants=[EMOJI["variants"][0], {**EMOJI["variants"][1], "text": {"ko": "{lines} 담았어요!"}}])
    assert len({base.phase, reweighted.phase, reworded.phase}) == 3
    assert _experiment(description="new words here").phase == base.phase


def test_assignment_is_sticky_and_follows_the_weights() -> None:
    x = _experiment(variants=[{**EMOJI["variants"][0], "weight": 80}, {**EMOJI["variants"][1], "weight": 20}])
    assert all(assign(x, "burger-ko", f"s{i}") == assign(x, "burger-ko", f"s{i}") for i in range(100))
    counts = Counter(assign(x, "burger-ko", f"session-{i}").name for i in range(20_000))
    assert abs(counts["emoji"] / 20_000 - 0.20) < 0.01  # sd 0.0028
    # a session's bucket depends on the experiment too: experiments are independent
    assert bucket("a", "s", "x") != bucket("b", "s", "x")


def test_moving_weights_moves_only_the_sessions_it_must() -> None:
    before = _experiment(variants=[{**EMOJI["variants"][0], "weight": 90}, {**EMOJI["variants"][1], "weight": 10}])
    after = _experiment()
    moved = sum(assign(before, "s", f"u{i}").name != assign(after, "s", f"u{i}").name for i in range(10_000))
    assert abs(moved / 10_000 - 0.40) < 0.02


def test_the_reply_is_said_in_the_sessions_variant_and_the_exposure_named() -> None:
    x = {"added-emoji": _experiment()}
    values = {"lines": "새우버거 1개"}
    shipped = R.text("added", "ko", **values)
    seen = {}
    for i in range(40):
        varied = vary_reply(x, "burger-ko", f"s{i}", "ko", shipped, "added", values)
        assert varied.exposure is not None
        seen[varied.exposure.variant] = varied.text
    assert seen == {"control": shipped, "emoji": "새우버거 1개 담았어요 😊 더 필요하신 건 없으세요?"}


def test_other_replies_languages_stores_and_stopped_experiments_are_left_alone() -> None:
    values = {"lines": "새우버거 1개"}
    shipped = R.text("added", "ko", **values)
    running = {"x": _experiment(stores=("burger-ko",))}
    only_ko = {"x": _experiment(variants=[EMOJI["variants"][0], {**EMOJI["variants"][1], "text": {"ko": "{lines} 😊"}}])}
    cases = [
        (running, "burger-ko", "ko", R.text("cart_empty", "ko"), "cart_empty"),     # another reply
        (running, "cafe-ko", "ko", shipped, "added"),                               # another store
        ({"x": _experiment(status="stopped")}, "burger-ko", "ko", shipped, "added"),  # stopped
        (only_ko, "burger-ko", "en", R.text("added", "en", **values), "added"),    # no English variant
        (running, "burger-ko", "ko", "불편을 드려 죄송해요. " + shipped, "added"),      # more than the reply
    ]
    for experiments, store, language, text, kind in cases:
        varied = vary_reply(experiments, store, "s1", language, text, kind, values)
        assert (varied.text, varied.exposure) == (text, None)


def test_the_dialogue_marks_which_reply_it_said() -> None:
    said = R.text("added", "en", lines="2 lattes")
    assert said == "Added 2 lattes. Anything else?"
    assert (said.kind, said.values) == ("added", {"lines": "2 lattes"})
    assert not isinstance("Sorry. " + said, R.Rendered)


# --- results ---------------------------------------------------------------------------------------


def _turn(session: str, at: str, **fields) -> TurnRecord:
    base = dict(store="burger-ko", session=session, at=at, channel="text", language="ko", transcript="", intent="order.add",
                status="ok", reason=None, confidence=0.9, asr_confidence=None, latency_ms=10, faq=None, order_id=None,
                added=1, handoff=False, sentiment="neutral", reply_kind="added")
    return TurnRecord(**{**base, **fields})


def _share(k: int, fraction: float) -> bool:
    """Exactly ``fraction`` of k = 1, 2, 3, ... (spread evenly; integer arithmetic, no rounding drift)."""
    per_mille = round(fraction * 1000)
    return k * per_mille // 1000 > (k - 1) * per_mille // 1000


def _traffic(x: Experiment, sessions: int, converts: dict[str, float], drop: dict[str, float] | None = None):
    """Exposed sessions; ``converts`` of each variant's sessions order; ``drop`` of each
    variant's exposures are lost (a broken logging path)."""
    exposures, turns = [], []
    counters: Counter[str] = Counter()
    for i in range(sessions):
        session = f"p{i}"
        variant = assign(x, "burger-ko", session).name
        counters[variant] += 1
        at = f"2026-12-0{1 + i % 5}T10:00:00.000+00:00"
        turns.append(_turn(session, at))
        if _share(counters[variant], converts[variant]):
            turns.append(_turn(session, at.replace("10:00:00", "10:01:00"), intent="order.confirm", added=0, order_id=f"o{i}"))
        if drop and _share(counters[variant], drop.get(variant, 0)):
            continue
        exposures.append(ExposureRecord(x.id, x.phase, variant, "burger-ko", session, at))
    return exposures, turns


def test_results_count_conversions_per_variant_and_find_the_lift() -> None:
    x = _experiment(min_per_variant=100)
    exposures, turns = _traffic(x, 4000, {"control": 0.30, "emoji": 0.40})
    result = experiment_results(x, exposures, turns, "2026-12-06T00:00:00.000+00:00")
    rates = {v["name"]: v["rate"] for v in result["variants"]}
    assert rates["control"] == pytest.approx(0.30, abs=0.01) and rates["emoji"] == pytest.approx(0.40, abs=0.01)
    assert result["verdict"]["decision"] == "treatment_better" and result["verdict"]["variant"] == "emoji"
    assert not result["srm"]["alert"]
    assert [d["day"] for d in result["daily"]] == [f"2026-12-0{d}" for d in range(1, 6)]
    assert result["daily"][-1]["sessions"] == {v["name"]: v["sessions"] for v in result["variants"]}


def test_a_broken_split_raises_the_alarm_and_withholds_the_verdict() -> None:
    x = _experiment(min_per_variant=100)
    exposures, turns = _traffic(x, 4000, {"control": 0.30, "emoji": 0.40}, drop={"emoji": 0.15})
    result = experiment_results(x, exposures, turns, "2026-12-06T00:00:00.000+00:00")
    assert result["srm"]["alert"] and result["verdict"]["decision"] == "srm_alert"


def test_no_verdict_before_the_minimum_sample() -> None:
    x = _experiment()  # minimum from the power calculation: 0.30 -> 0.37
    exposures, turns = _traffic(x, 400, {"control": 0.30, "emoji": 0.60})
    result = experiment_results(x, exposures, turns, "2026-12-06T00:00:00.000+00:00")
    assert result["min_per_variant"] == result["sample_plan"]["sequential_per_variant"] > 1000
    assert result["verdict"]["decision"] == "insufficient_sample"


def test_an_earlier_phase_is_read_only_when_asked() -> None:
    x = _experiment(min_per_variant=10)
    exposures, turns = _traffic(x, 100, {"control": 0.3, "emoji": 0.3})
    old = [ExposureRecord(e.experiment, "oldphase", e.variant, e.store, e.session, e.at) for e in exposures]
    now = experiment_results(x, old, turns, "2026-12-06T00:00:00.000+00:00")
    assert sum(v["sessions"] for v in now["variants"]) == 0 and now["phases"] == {"oldphase": 100}
    earlier = experiment_results(x, old, turns, "2026-12-06T00:00:00.000+00:00", phase="oldphase")
    assert sum(v["sessions"] for v in earlier["variants"]) == 100
