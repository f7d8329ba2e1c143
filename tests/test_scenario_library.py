"""The scenario library: every file is valid, every reference answer lands in its band when played as a
whole call, and the simulation behind the self-check follows the call system's rules."""
from __future__ import annotations

import copy

import pytest

from grading.rubric import grade
from scenarios import LIBRARY_DIR, load_library, load_scenario
from scenarios.__main__ import main as scenarios_cli
from scenarios.blueprint import draw
from scenarios.blueprint import load as load_blueprints
from scenarios.loader import scenario_files
from scenarios.selfcheck import BANDS, check_scenario
from scenarios.simulate import simulate_call

LIBRARY_FILES = sorted(scenario_files(LIBRARY_DIR))


def _ids(paths):
    return [p.stem for p in paths]


def test_library_loads_without_problems_and_ids_are_unique():
    scenarios = load_library(LIBRARY_DIR)   # raises on any problem, duplicate ids included
    assert len(scenarios) == len(LIBRARY_FILES)


def test_every_level_has_at_least_twelve_calls():
    calls: dict[int, int] = {}
    for scenario in load_library(LIBRARY_DIR).values():
        if scenario.data.get("task", "live_call") == "live_call":
            calls[scenario.data["level"]] = calls.get(scenario.data["level"], 0) + 1
    assert all(calls.get(level, 0) >= 12 for level in (5, 4, 3)), calls


@pytest.mark.parametrize("level", [5, 4, 3])
def test_library_alone_can_supply_every_practical_blueprint(level):
    pool = [(s.id, s.data.get("task", "live_call"), s.data["level"]) for s in load_library(LIBRARY_DIR).values()]
    blueprint = load_blueprints()[level]
    for seed in range(20):
        drawn = draw(blueprint, pool, seed)
        assert sum(d.weight for d in drawn) == pytest.approx(100)
        assert len({d.scenario_id for d in drawn}) == len(drawn)


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=_ids(LIBRARY_FILES))
def test_reference_answers_land_in_their_bands(path):
    scenario = load_scenario(path)
    bands = {a["band"] for a in scenario.data["reference_answers"]}
    assert {"excellent", "borderline", "failing"} <= bands
    for outcome in check_scenario(scenario.data):
        low, high = BANDS[outcome.band]
        assert low <= outcome.total <= high, (scenario.id, outcome.band, outcome.total)


@pytest.mark.parametrize("path", LIBRARY_FILES, ids=_ids(LIBRARY_FILES))
def test_every_rubric_item_cites_a_seed_document(path):
    data = load_scenario(path).data
    for item in data.get("rubric", {}).get("items", []):
        assert str(item.get("source", "")).endswith(".txt"), (data["id"], item["id"])
        assert item.get("norm"), (data["id"], item["id"])


def _billing():
    return copy.deepcopy(load_scenario(LIBRARY_DIR / "level5" / "l5-consult-billing.yaml").data)


def _excellent(data):
    return next(a for a in data["reference_answers"] if a["band"] == "excellent")


def test_simulated_call_passes_through_the_call_system_states():
    data = _billing()
    record = simulate_call(data, _excellent(data))
    kinds = [e["type"] for e in record["events"]]
    assert kinds.index("ring") < kinds.index("answered") < kinds.index("hangup") < kinds.index("wrapup_end")
    assert record["ended_by"] == "caller"
    assert [e["turn"] for e in record["events"] if e["type"] == "caller_utterance"] == ["t1", "t2", "t3", "t4"]


def test_ringing_longer_than_the_norm_costs_the_rings_item():
    data = _billing()
    slow = dict(_excellent(data), rings=6)
    fast = grade(simulate_call(data, _excellent(data)), data)
    late = grade(simulate_call(data, slow), data)
    assert fast.item("rings").points_earned == 5 and late.item("rings").points_earned == 0


def test_agent_hanging_up_first_loses_the_hangup_item():
    data = _billing()
    answer = copy.deepcopy(_excellent(data))
    # the agent says goodbye and hangs up before the caller has said theirs
    answer["turns"][3:] = [{"say": "感谢您的来电，再见。", "then": ["hangup"]}]
    record = simulate_call(data, answer)
    assert record["ended_by"] == "agent"
    assert grade(record, data).item("hangup").points_earned == 0


def test_hold_action_is_logged_with_its_length():
    data = _billing()
    answer = copy.deepcopy(_excellent(data))
    answer["turns"][2] = {"say": answer["turns"][2], "then": [{"hold": 25}]}
    record = simulate_call(data, answer)
    holds = [e for e in record["events"] if e["type"] == "hold"]
    assert [e["on"] for e in holds] == [True, False]
    assert holds[1]["t"] - holds[0]["t"] == pytest.approx(25, abs=0.01)


def test_selfcheck_reports_an_answer_outside_its_band():
    data = _billing()
    wrong = copy.deepcopy(data)
    # the failing answer claimed to be excellent must be caught
    next(a for a in wrong["reference_answers"] if a["band"] == "failing")["band"] = "excellent"
    outcomes = check_scenario(wrong)
    assert [o.ok for o in outcomes].count(False) == 1


def test_selfcheck_command_exit_status(tmp_path, capsys):
    assert scenarios_cli(["selfcheck", str(LIBRARY_DIR / "level5" / "l5-praise.yaml")]) == 0
    text = (LIBRARY_DIR / "level5" / "l5-praise.yaml").read_text(encoding="utf-8")
    bad = tmp_path / "l5-praise.yaml"
    swapped = text.replace("band: failing", "band: tmp").replace("band: excellent", "band: failing")
    bad.write_text(swapped.replace("band: tmp", "band: excellent"), encoding="utf-8")
    assert scenarios_cli(["selfcheck", str(bad)]) == 1
    assert "OUT OF BAND" in capsys.readouterr().out


def test_only_an_unanswered_outbound_call_may_have_answers_without_words():
    from scenarios import check

    data = copy.deepcopy(load_scenario(LIBRARY_DIR / "level3" / "l3-outbound-no-answer.yaml").data)
    assert check(data) == []
    record = simulate_call(data, data["reference_answers"][0])
    assert [e["outcome"] for e in record["events"] if e["type"] == "outbound_result"] == ["no_answer"]
    assert record["work_order"]["wrapup_code"] == "callback"
    data["outbound"]["outcome"] = "answered"
    assert any("至少需要一句坐席的话" in p for p in check(data))


def test_selfcheck_tells_a_miss_that_rests_on_review_from_a_decided_one():
    data = _billing()
    answer = next(a for a in data["reference_answers"] if a["band"] == "excellent")
    # perfect transcripts leave nothing to review
    [outcome] = check_scenario({**data, "reference_answers": [answer]})
    assert outcome.ok and outcome.pending_gain == 0 and not outcome.in_band_after_review
    from scenarios.selfcheck import Outcome
    miss = Outcome("x", "excellent", 80.0, False, pending_gain=10.0)
    decided = Outcome("x", "excellent", 80.0, False, pending_gain=2.0)
    assert miss.in_band_after_review and not decided.in_band_after_review
    high = Outcome("x", "failing", 65.0, False, pending_loss=10.0)
    assert high.in_band_after_review
