"""Scores after an assessor settles an attitude flag, and a fatal call's score: one rule for a call's total
(grading/rubric/totals.py) shared by the grader and the stored call; explicit decisions on attitude flags
(确认 keeps the deduction and the cap, 不成立 removes them, 另定扣分 sets another deduction) through the
review page's override route, shown in words to the assessor, the candidate and in the audit log, and
counted by calibration as agreement or disagreement."""
from __future__ import annotations

import copy
import re

import pytest

from grading.rubric import FATAL_CAP, grade
from scenarios.simulate import simulate_call
from simulator.auth.models import Role
from simulator.calibration.views import reviewed_rows
from simulator.extensions import db
from simulator.practical.models import PracticalCall
from simulator.sittings import service
from simulator.sittings.models import AuditEntry, SittingCandidate
from tests.conftest import PASSWORD
from tests.helpers import csrf_token, login

POLITE = "感谢您的耐心等待，您本月话费是八十八元。"
FATAL = POLITE + "您是听不明白吗？"          # a fatal reproach
MAJOR = POLITE + "您打听这么多干什么"        # a major one: a deduction and a flag


def _client(app, username):
    client = app.test_client()
    login(client, username, PASSWORD)
    return client


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", "", html)


def _scenario(call: PracticalCall, *, own_deduction: bool = True, auto_fail: bool = False) -> dict:
    """The call's scenario; ``own_deduction``: its 服务忌语 item leaves impolite speech to the attitude item,
    which then deducts from the total itself; ``auto_fail``: plus a 严禁用语 item that fails the call."""
    scn = copy.deepcopy(call.scenario.data)
    for item in scn["rubric"]["items"]:
        if item["kind"] == "forbidden" and own_deduction:
            item["attitude"] = False
    if auto_fail:
        scn["rubric"]["items"].append({"id": "banned", "kind": "forbidden", "label": "严禁用语", "points": 0,
                                       "phrases": ["你自己查"], "mode": "auto_fail"})
    return scn


def _graded(scn: dict, last: str, *, doubtful: bool = False, unsure: str | None = None) -> dict:
    """A real grade of a simulated call: greeting, hold, then ``last``. ``doubtful``: the impolite words
    were recognised with low confidence (the engine is unsure of them); ``unsure``: so was the sentence
    holding these words."""
    answer = {"turns": ["您好，工号1035，很高兴为您服务。",
                        {"say": "请您稍等，我帮您查询一下。", "then": [{"hold": 10}]}, last]}
    record = simulate_call(scn, answer)
    unsure = unsure or ("听不明白" if doubtful else None)
    if unsure:
        for e in record["events"]:
            if e["type"] == "agent_utterance" and unsure in e["transcript"]["text"]:
                e["transcript"]["confidence"] = 0.3
                for w in e["transcript"]["words"]:
                    w["confidence"] = 0.3
    return grade(record, scn).to_dict()


@pytest.fixture
def graded_call(app, users, sitting):
    """(candidate, call, store): ``store(result)`` saves a grade on the candidate's first live call."""
    candidate = service.enrol(sitting, [users[Role.TRAINEE]], users[Role.ASSESSOR])[0]
    index = next(i for i, p in enumerate(candidate.practical_plan) if p["type"] == "live_call")
    call = service.start_practical(candidate, index, users[Role.TRAINEE])
    db.session.commit()

    def store(result: dict) -> PracticalCall:
        row = db.session.get(PracticalCall, call.id)
        row.result, row.status, row.score, row.overrides = result, "finished", result["total"], None
        row.passed, row.provisional = result["passed"], bool(result["provisional"])      # as finish_call stores
        db.session.commit()
        return row
    return candidate, call, store


def _decide(assessor, sitting, candidate, call, item_id="attitude", **data):
    page = f"/sittings/{sitting.id}/candidates/{candidate.id}"
    payload = {"csrf_token": csrf_token(assessor, page), "item_id": item_id, **data}
    return assessor.post(f"{page}/calls/{call.id}/override", data=payload)


def _score(call) -> float:
    db.session.expire_all()
    return db.session.get(PracticalCall, call.id).effective_score()


# ---- 1 and 2: one rule for the total ----------------------------------------------------------------------

def test_without_overrides_the_stored_score_is_the_graders_total(graded_call):
    _, call, _ = graded_call
    cases = {"polite": (_scenario(call), POLITE), "major": (_scenario(call), MAJOR),
             "fatal": (_scenario(call), FATAL), "fatal-absorbed": (_scenario(call, own_deduction=False), FATAL),
             "doubtful": (_scenario(call), FATAL),
             "auto-failed": (_scenario(call, auto_fail=True), POLITE + "你自己查")}
    totals = {}
    for name, (scn, last) in cases.items():
        result = _graded(scn, last, doubtful=name == "doubtful")
        totals[name] = result["total"]
        assert PracticalCall(result=result).effective_score() == result["total"], name
    assert totals["fatal"] == FATAL_CAP and totals["fatal-absorbed"] == FATAL_CAP, "capped, not 0"
    assert totals["auto-failed"] == 0.0 and totals["major"] == 95.0 and totals["polite"] == 100.0


def test_a_fatal_call_shows_its_capped_score_to_assessor_sitting_and_candidate(app, users, sitting, graded_call):
    candidate, call, store = graded_call
    result = _graded(_scenario(call), FATAL)
    assert result["auto_failed"] and result["total"] == FATAL_CAP
    store(result)
    assessor = _client(app, "assessor1")
    page = f"/sittings/{sitting.id}/candidates/{candidate.id}"
    assert f"得分 <strong>{FATAL_CAP:.1f}</strong>" in assessor.get(page).get_data(as_text=True)
    weight = candidate.practical_plan[call_index(candidate, call)]["weight"]
    assert service.scores(candidate).practical == round(weight * FATAL_CAP / 100, 1)

    # re-scoring another item keeps the cap (the old sum dropped it: 30 → 20 gave 90)
    resp = _decide(assessor, sitting, candidate, call, item_id="opening", points="20", reason="工号报得不清楚")
    assert resp.status_code == 302 and _score(call) == FATAL_CAP

    # the assessor confirms: the cap stands, in words on the page and in the audit log
    resp = _decide(assessor, sitting, candidate, call, decision="confirm", reason="录音核实，确有反问客户")
    assert resp.status_code == 302 and _score(call) == FATAL_CAP
    assert db.session.get(PracticalCall, call.id).awaiting_review == []
    text = _text(assessor.get(page).get_data(as_text=True))
    assert f"考评员复核：确认（扣分/一票否决成立），不另扣分，本次通话最高记{FATAL_CAP:g}分。" in text
    assert "理由：录音核实，确有反问客户" in text
    assert f"复核结论：{call.scenario.title} · 服务态度（致命项） · 确认（扣分/一票否决成立）" in text
    assert "0 分，一票否决 → 0 分，一票否决" in text

    token = csrf_token(assessor, f"/sittings/{sitting.id}")
    assessor.post(f"/sittings/{sitting.id}/publish", data={"csrf_token": token, "despite_pending": "1"})
    db.session.expire_all()
    published = db.session.get(SittingCandidate, candidate.id)
    assert published.sitting.published_at is not None
    assert published.practical_score == round(weight * FATAL_CAP / 100, 1)
    [task] = [t for t in published.report["practical_items"] if t["score"] is not None]
    assert task["score"] == FATAL_CAP
    assert any(x.get("decision", "").startswith("考评员复核：确认") for x in task["items"]), "in the PDF report too"
    assert trainee_report_ok(app, sitting)
    trainee = _client(app, "trainee1")
    shown = trainee.get(f"/practical/calls/{call.id}/result").get_data(as_text=True)
    assert f'data-testid="score">{FATAL_CAP:.1f}<' in shown and "不合格" in shown
    assert "考评员复核：确认（扣分/一票否决成立）" in shown
    mine = trainee.get(f"/my/sittings/{sitting.id}").get_data(as_text=True)
    assert "考评员复核：确认（扣分/一票否决成立）" in mine


def trainee_report_ok(app, sitting) -> bool:
    resp = _client(app, "trainee1").get(f"/my/sittings/{sitting.id}/report.pdf")
    return resp.status_code == 200 and resp.data.startswith(b"%PDF")


def call_index(candidate, call) -> int:
    return next(i for i in range(len(candidate.practical_plan)) if service.practical_call(candidate, i).id == call.id)


def test_only_a_forbidden_auto_fail_item_gives_0_and_overruling_it_lifts_it(app, users, sitting, graded_call):
    candidate, call, store = graded_call
    store(_graded(_scenario(call, auto_fail=True), POLITE + "你自己查"))
    assessor = _client(app, "assessor1")
    page = f"/sittings/{sitting.id}/candidates/{candidate.id}"
    assert "得分 <strong>0.0</strong>" in assessor.get(page).get_data(as_text=True)
    assert _decide(assessor, sitting, candidate, call, item_id="opening", points="20",
                   reason="工号报得不清楚").status_code == 302
    assert _score(call) == 0.0, "another item's override does not lift the auto-fail"
    resp = _decide(assessor, sitting, candidate, call, item_id="banned", points="0", reason="没有选择结论")
    assert resp.status_code == 400 and "请选择复核结论" in resp.get_data(as_text=True)
    assert _decide(assessor, sitting, candidate, call, item_id="banned", decision="confirm",
                   reason="确实说了你自己查").status_code == 302
    assert _score(call) == 0.0
    assert _decide(assessor, sitting, candidate, call, item_id="banned", decision="overrule",
                   reason="客户说的，不是考生").status_code == 302
    assert _score(call) == 80.0, "100 less the opening's 10 and the 服务忌语 item's own 10"


# ---- 3: explicit decisions on an attitude flag ------------------------------------------------------------

def test_confirming_a_flag_keeps_its_deduction_overruling_removes_it_adjusting_sets_another(
        app, users, sitting, graded_call):
    candidate, call, store = graded_call
    result = _graded(_scenario(call), MAJOR)
    attitude = next(i for i in result["items"] if i["id"] == "attitude")
    assert attitude["deduction"] == 5.0 and result["total"] == 95.0 and result["needs_review"]
    store(result)
    assessor = _client(app, "assessor1")
    page = f"/sittings/{sitting.id}/candidates/{candidate.id}"
    review = assessor.get(page).get_data(as_text=True)
    assert 'data-testid="decision-form"' in review and "不成立（撤销）" in review

    resp = _decide(assessor, sitting, candidate, call, decision="confirm", reason="确有责问客户，扣分成立")
    assert resp.status_code == 302 and _score(call) == 95.0, "a confirmed flag keeps its deduction"
    assert db.session.get(PracticalCall, call.id).awaiting_review == []
    text = _text(assessor.get(page).get_data(as_text=True))
    assert "考评员复核：确认（扣分/一票否决成立），从总分中扣5分。" in text
    assert "0 分，扣 5 分 → 0 分，扣 5 分" in text

    resp = _decide(assessor, sitting, candidate, call, decision="overrule", reason="客户先这样问的，语气平和")
    assert resp.status_code == 302 and _score(call) == 100.0
    assert "考评员复核：不成立（撤销），不扣分。" in _text(assessor.get(page).get_data(as_text=True))

    resp = _decide(assessor, sitting, candidate, call, decision="adjust", deduction="2", reason="语气稍重，酌情扣分")
    assert resp.status_code == 302 and _score(call) == 98.0
    text = _text(assessor.get(page).get_data(as_text=True))
    assert "考评员复核：另定扣分，从总分中扣2分（不构成一票否决）。" in text
    assert "复核结论：" in text and "另定扣分（不构成一票否决）" in text and "0 分 → 0 分，扣 2 分" in text
    entries = db.session.query(AuditEntry).filter_by(action="override").order_by(AuditEntry.id).all()
    assert [e.after["decision"] for e in entries] == ["confirm", "overrule", "adjust"]


def test_overruling_a_fatal_flag_lifts_the_cap_and_confirming_a_doubtful_one_applies_it(
        app, users, sitting, graded_call):
    candidate, call, store = graded_call
    store(_graded(_scenario(call), FATAL))
    assessor = _client(app, "assessor1")
    assert _decide(assessor, sitting, candidate, call, decision="overrule",
                   reason="核实录音，是在复述客户原话").status_code == 302
    assert _score(call) == 100.0

    doubtful = _graded(_scenario(call), FATAL, doubtful=True)
    assert not doubtful["auto_failed"] and doubtful["total"] == 100.0 and doubtful["provisional"]
    store(doubtful)
    assert _decide(assessor, sitting, candidate, call, decision="confirm",
                   reason="录音听清了，确有反问").status_code == 302
    assert _score(call) == FATAL_CAP, "the engine was unsure; the assessor's 确认 makes the cap stand"


@pytest.mark.parametrize("data,message", [
    ({"points": "0", "reason": "确认扣分成立"}, "请选择复核结论"),
    ({"decision": "agree", "reason": "确认扣分成立"}, "请选择复核结论"),
    ({"decision": "adjust", "reason": "酌情另定扣分"}, "另定扣分时请填写扣分"),
    ({"decision": "adjust", "deduction": "NaN", "reason": "酌情另定扣分"}, "请填写 0–100 之间的分数"),
    ({"decision": "adjust", "deduction": "120", "reason": "酌情另定扣分"}, "扣分应在 0–100 之间"),
    ({"decision": "confirm", "reason": ""}, "请写明理由"),
])
def test_bad_decisions_are_refused_with_a_chinese_message(app, users, sitting, graded_call, data, message):
    candidate, call, store = graded_call
    store(_graded(_scenario(call), MAJOR))
    resp = _decide(_client(app, "assessor1"), sitting, candidate, call, **data)
    assert resp.status_code == 400 and message in resp.get_data(as_text=True)
    db.session.expire_all()
    assert not db.session.get(PracticalCall, call.id).overrides


def test_decisions_are_for_assessors_with_a_csrf_token(app, users, sitting, graded_call):
    candidate, call, store = graded_call
    store(_graded(_scenario(call), MAJOR))
    url = f"/sittings/{sitting.id}/candidates/{candidate.id}/calls/{call.id}/override"
    data = {"item_id": "attitude", "decision": "overrule", "reason": "客户先这样问的"}
    for role in ("trainee1", "trainer1"):
        client = _client(app, role)
        token = csrf_token(client, "/practical/")
        assert client.post(url, data={**data, "csrf_token": token}).status_code == 403
    assert _client(app, "assessor1").post(url, data=data).status_code == 400, "no CSRF token"
    db.session.expire_all()
    assert not db.session.get(PracticalCall, call.id).overrides


def test_an_override_stored_before_decisions_still_means_overruled(graded_call):
    _, call, store = graded_call
    row = store(_graded(_scenario(call), FATAL))
    row.overrides = {"attitude": {"points": 0.0, "by": 1, "at": "2026-11-20T10:00:00", "reason": "语气平和"}}
    db.session.commit()
    assert _score(call) == 100.0
    [item] = [i for i in db.session.get(PracticalCall, call.id).effective_items() if i["id"] == "attitude"]
    assert item["decision_words"] == "考评员复核：不成立（撤销），不扣分，解除一票否决。" and not item["fatal"]


# ---- 5: a 严禁用语 (auto_fail) the engine was unsure of ------------------------------------------------------

BANNED = POLITE + "你自己查"


def _row(html: str, call, item_id: str) -> str:
    return re.search(rf'id="item-{call.id}-{item_id}".*?</tr>', html, re.S).group(0)


def test_confirming_a_doubtful_auto_fail_item_fails_the_call_and_overruling_leaves_it_as_graded(
        app, users, sitting, graded_call):
    candidate, call, store = graded_call
    result = _graded(_scenario(call, auto_fail=True), BANNED, unsure="你自己查")
    banned = next(i for i in result["items"] if i["id"] == "banned")
    assert banned["verdict"] == "review" and not banned["fatal"] and not result["auto_failed"]
    assert result["total"] == 100.0 and result["provisional"]
    store(result)
    assessor = _client(app, "assessor1")
    page = f"/sittings/{sitting.id}/candidates/{candidate.id}"
    row = _row(assessor.get(page).get_data(as_text=True), call, "banned")
    assert 'data-testid="decision-form"' in row and 'value="confirm"' in row and 'value="overrule"' in row
    assert 'value="adjust"' not in row and 'name="points"' not in row, "settled by a decision, not points"

    resp = _decide(assessor, sitting, candidate, call, item_id="banned", points="0", reason="没有选择结论")
    assert resp.status_code == 400 and "请选择复核结论" in resp.get_data(as_text=True)
    resp = _decide(assessor, sitting, candidate, call, item_id="banned", decision="adjust", deduction="5",
                   reason="酌情扣分可以吗")
    assert resp.status_code == 400 and "只有服务态度项可以另定扣分" in resp.get_data(as_text=True)

    resp = _decide(assessor, sitting, candidate, call, item_id="banned", decision="confirm",
                   reason="录音听清了，确实说了")
    assert resp.status_code == 302 and _score(call) == 0.0, "confirmed: the call is auto-failed"
    stored = db.session.get(PracticalCall, call.id)
    assert stored.effective_result()["auto_failed"] and not stored.effective_result()["passed"]
    text = _text(assessor.get(page).get_data(as_text=True))
    assert "得分 0.0" in text and "考评员复核：确认（扣分/一票否决成立），不另扣分，本次通话记0分。" in text
    [entry] = db.session.query(AuditEntry).filter_by(action="override").all()
    assert entry.before["fatal"] is False and entry.after == {"points": 0.0, "deduction": 0.0, "fatal": True,
                                                              "decision": "confirm"}

    resp = _decide(assessor, sitting, candidate, call, item_id="banned", decision="overrule", reason="是客户说的这句话")
    assert resp.status_code == 302 and _score(call) == 100.0, "overruled: as graded"
    assert "考评员复核：不成立（撤销），不扣分。" in _text(assessor.get(page).get_data(as_text=True))


def test_a_doubtful_auto_fail_item_stored_before_its_mode_was_recorded_is_rescored_by_points(
        app, users, sitting, graded_call):
    candidate, call, store = graded_call
    result = _graded(_scenario(call, auto_fail=True), BANNED, unsure="你自己查")
    for item in result["items"]:
        item.pop("if_confirmed", None)           # as stored by the engine before
    store(result)
    assert _score(call) == 100.0
    assessor = _client(app, "assessor1")
    page = f"/sittings/{sitting.id}/candidates/{candidate.id}"
    row = _row(assessor.get(page).get_data(as_text=True), call, "banned")
    assert 'name="points"' in row and 'data-testid="decision-form"' not in row
    resp = _decide(assessor, sitting, candidate, call, item_id="banned", decision="confirm", reason="录音听清了")
    assert resp.status_code == 400 and "这一项不是服务态度或一票否决项" in resp.get_data(as_text=True)
    assert _decide(assessor, sitting, candidate, call, item_id="banned", points="0",
                   reason="核实录音，按系统评分").status_code == 302
    assert _score(call) == 100.0


# ---- 6: 暂定 (provisional) is what is still unsettled ----------------------------------------------------------

PROVISIONAL_NOTES = ("暂定", "待复核")


def _pdf_text(data: bytes) -> str:
    import io

    from pypdf import PdfReader
    return "".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def _shown_to_candidate(app, sitting, call) -> dict[str, str]:
    """What the candidate sees of the published call: its result page, the practice home's history row,
    the sitting page and the PDF score report."""
    trainee = _client(app, "trainee1")
    result = trainee.get(f"/practical/calls/{call.id}/result")
    home = trainee.get("/practical/").get_data(as_text=True)
    history = re.search(rf'<tr>(?:(?!<tr>).)*?/practical/calls/{call.id}/result.*?</tr>', home, re.S).group(0)
    report = trainee.get(f"/my/sittings/{sitting.id}/report.pdf")
    assert result.status_code == 200 and report.status_code == 200
    return {"result": _text(result.get_data(as_text=True)), "history": _text(history),
            "sitting": _text(trainee.get(f"/my/sittings/{sitting.id}").get_data(as_text=True)),
            "report": _pdf_text(report.data)}


def _publish(assessor, sitting, **data):
    token = csrf_token(assessor, f"/sittings/{sitting.id}")
    assessor.post(f"/sittings/{sitting.id}/publish", data={"csrf_token": token, **data})
    db.session.expire_all()
    assert db.session.get(type(sitting), sitting.id).published_at is not None


def test_once_every_flag_is_settled_the_result_is_not_provisional_anywhere(app, users, sitting, graded_call):
    candidate, call, store = graded_call
    store(_graded(_scenario(call, auto_fail=True), BANNED, unsure="你自己查"))
    assessor = _client(app, "assessor1")
    page = f"/sittings/{sitting.id}/candidates/{candidate.id}"
    assert "（有待复核项）" in assessor.get(page).get_data(as_text=True)
    assert _decide(assessor, sitting, candidate, call, item_id="polite", points="20",
                   reason="核实录音，没有说服务忌语").status_code == 302
    assert "（有待复核项）" in assessor.get(page).get_data(as_text=True), "the 严禁用语 item is still open"
    assert _decide(assessor, sitting, candidate, call, item_id="banned", decision="overrule",
                   reason="核实录音，是客户说的").status_code == 302
    db.session.expire_all()
    stored = db.session.get(PracticalCall, call.id)
    assert stored.provisional and stored.result["provisional"], "as graded: the engine's flag stays on record"
    assert not stored.is_provisional and not stored.effective_result()["provisional"]
    assert "（有待复核项）" not in assessor.get(page).get_data(as_text=True)

    _publish(assessor, sitting)         # nothing left to settle: no "publish anyway" needed
    shown = _shown_to_candidate(app, sitting, call)
    assert "100.0" in shown["result"] and "合格" in shown["history"]
    for where, text in shown.items():
        for note in PROVISIONAL_NOTES:
            assert note not in text, (where, note)
    published = db.session.get(SittingCandidate, candidate.id)
    [task] = [t for t in published.report["practical_items"] if t["score"] is not None]
    assert task["provisional"] is False


def test_a_flag_left_unsettled_keeps_the_result_provisional_everywhere(app, users, sitting, graded_call):
    candidate, call, store = graded_call
    store(_graded(_scenario(call, auto_fail=True), BANNED, unsure="你自己查"))
    assessor = _client(app, "assessor1")
    assert _decide(assessor, sitting, candidate, call, item_id="polite", points="20",
                   reason="核实录音，没有说服务忌语").status_code == 302
    db.session.expire_all()
    assert db.session.get(PracticalCall, call.id).is_provisional

    token = csrf_token(assessor, f"/sittings/{sitting.id}")
    refused = assessor.post(f"/sittings/{sitting.id}/publish", data={"csrf_token": token}, follow_redirects=True)
    assert "还有 1 个评分项待复核" in refused.get_data(as_text=True), "the settled 服务忌语 item is not counted"
    _publish(assessor, sitting, despite_pending="1")
    shown = _shown_to_candidate(app, sitting, call)
    assert "（有项目待考评员复核，结果为暂定）" in shown["result"]
    assert "（待复核）" in shown["history"]
    assert "暂定" in shown["report"]
    published = db.session.get(SittingCandidate, candidate.id)
    [task] = [t for t in published.report["practical_items"] if t["score"] is not None]
    assert task["provisional"] is True


def test_a_settled_attitude_flag_is_no_longer_provisional(app, users, sitting, graded_call):
    candidate, call, store = graded_call
    result = _graded(_scenario(call), MAJOR)
    assert result["provisional"] and result["needs_review"]
    store(result)
    assessor = _client(app, "assessor1")
    page = f"/sittings/{sitting.id}/candidates/{candidate.id}"
    assert "（有待复核项）" in assessor.get(page).get_data(as_text=True)
    assert _decide(assessor, sitting, candidate, call, decision="confirm",
                   reason="确有责问客户，扣分成立").status_code == 302
    assert "（有待复核项）" not in assessor.get(page).get_data(as_text=True)
    _publish(assessor, sitting)
    shown = _shown_to_candidate(app, sitting, call)
    assert "95.0" in shown["result"]
    for where, text in shown.items():
        for note in PROVISIONAL_NOTES:
            assert note not in text, (where, note)


# ---- 4: calibration ---------------------------------------------------------------------------------------

def test_calibration_counts_a_confirmed_flag_as_agreement_and_an_overruled_one_as_not(
        app, users, sitting, graded_call):
    candidate, call, store = graded_call
    store(_graded(_scenario(call), MAJOR))
    assessor = _client(app, "assessor1")
    _decide(assessor, sitting, candidate, call, decision="confirm", reason="确有责问客户，扣分成立")
    db.session.expire_all()
    [flag] = [r for r in reviewed_rows() if r.kind == "attitude"]
    assert flag.agrees and flag.flag_upheld
    html = assessor.get("/calibration").get_data(as_text=True)
    assert re.search(r"<td>服务态度</td><td>1</td><td>1</td>", html)

    _decide(assessor, sitting, candidate, call, decision="overrule", reason="客户先这样问的，语气平和")
    db.session.expire_all()
    [flag] = [r for r in reviewed_rows() if r.kind == "attitude"]
    assert not flag.agrees and not flag.machine_credited and flag.assessor_credited
    html = assessor.get("/calibration").get_data(as_text=True)
    assert re.search(r"<td>服务态度</td><td>1</td><td>0</td>", html)


def test_calibration_counts_a_decision_on_a_doubtful_auto_fail_item_as_a_flag(app, users, sitting, graded_call):
    candidate, call, store = graded_call
    store(_graded(_scenario(call, auto_fail=True), BANNED, unsure="你自己查"))
    assessor = _client(app, "assessor1")
    db.session.expire_all()
    assert not [r for r in reviewed_rows() if r.item_id == "banned"], "not settled (and worth 0 points): no row"
    _decide(assessor, sitting, candidate, call, item_id="banned", decision="confirm", reason="录音听清了，确实说了")
    db.session.expire_all()
    [flag] = [r for r in reviewed_rows() if r.item_id == "banned"]
    assert flag.flag_upheld and flag.agrees
    _decide(assessor, sitting, candidate, call, item_id="banned", decision="overrule", reason="是客户说的这句话")
    db.session.expire_all()
    [flag] = [r for r in reviewed_rows() if r.item_id == "banned"]
    assert flag.flag_upheld is False and not flag.agrees
