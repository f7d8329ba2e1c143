"""Certification sittings: creation, enrolment (pick and roster), the candidate's theory and practical
tasks in certification mode, proctoring, overrides with the audit log, publishing, reports, certificates,
verification — and who may see what."""
from __future__ import annotations

import io
import re

import pytest
from openpyxl import Workbook, load_workbook

from exams import attempts as exam
from scenarios.blueprint import PracticalBlueprintError, draw, load
from simulator.extensions import db
from simulator.practical.models import PracticalCall
from simulator.sittings import service
from simulator.sittings.models import AuditEntry, Sitting, SittingCandidate
from tests.conftest import PASSWORD, scenario_fixture
from tests.helpers import csrf_token, login


def fresh(model, key):
    """The row as the requests left it (they commit in their own sessions)."""
    db.session.expire_all()
    return db.session.get(model, key)


def _role(name):
    from simulator.auth.models import Role
    return Role(name)


def test_blueprints_weights_and_cumulative_draw():
    blueprints = load()
    for bp in blueprints.values():
        assert sum(t.weight for t in bp.tasks) == 100 and bp.pass_mark == 60
    pool = [("a", "live_call", 5), ("b", "live_call", 5), ("c", "live_call", 4), ("r", "recording_review", 5),
            ("t", "typing", 4)]
    drawn = draw(blueprints[4], pool, seed=1)
    assert [d.type for d in drawn].count("live_call") == 2 and "c" in [d.scenario_id for d in drawn], \
        "a level-4 exam has at least one level-4 call"
    assert draw(blueprints[4], pool, seed=1) == drawn, "the same seed draws the same exam"
    with pytest.raises(PracticalBlueprintError, match="场景库不足") as too_few:
        draw(blueprints[3], pool, seed=1)
    assert "模拟通话场景（三级" in str(too_few.value), "the assessor reads task and level names, not codes"
    assert "live_call" not in str(too_few.value) and "3级" not in str(too_few.value)


def test_enrolment_draws_each_candidate_a_practical_exam(app, users, make_user, sitting):
    second = make_user("trainee2")
    assessor = users[_role("assessor")]
    added = service.enrol(sitting, [users[_role("trainee")], second], assessor)
    assert len(added) == 2
    for candidate in added:
        types = [p["type"] for p in candidate.practical_plan]
        assert types.count("live_call") == 2 and "recording_review" in types and "typing" in types
        assert sum(p["weight"] for p in candidate.practical_plan) == 100
    assert service.enrol(sitting, [second], assessor) == [], "enrolling twice changes nothing"
    with pytest.raises(service.SittingError, match="不是学员"):
        service.enrol(sitting, [assessor], assessor)
    assert db.session.query(AuditEntry).filter_by(sitting_id=sitting.id, action="enrol").count() == 1


def test_roster_import_is_all_or_nothing_with_row_numbers(app, users, make_user, sitting):
    make_user("trainee2")
    wb = Workbook()
    ws = wb.active
    for row in (["用户名"], ["trainee1"], ["nobody"], ["assessor1"], ["trainee2"]):
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(service.SittingError) as err:
        service.enrol_roster(sitting, "名单.xlsx", buf.getvalue(), users[_role("assessor")])
    assert "第 3 行：没有用户 nobody" in str(err.value) and "第 4 行：assessor1 不是学员账号" in str(err.value)
    assert not sitting.candidates, "nothing half-imported"
    roster = "用户名\ntrainee1\ntrainee2\n".encode()
    assert service.enrol_roster(sitting, "名单.csv", roster, users[_role("assessor")]) == 2
    template = load_workbook(io.BytesIO(service.roster_template())).active
    assert template["A1"].value == "用户名"


def _assessor_client(app, users):
    client = app.test_client()
    login(client, "assessor1", PASSWORD)
    return client


def _trainee_client(app, username="trainee1"):
    client = app.test_client()
    login(client, username, PASSWORD)
    return client


def test_the_whole_sitting_through_the_pages(app, users, sitting):
    """Enrol, access code, theory paper, practical tasks (typed answers), review with an override,
    publish, report, certificate, verification; results hidden until published."""
    assessor = _assessor_client(app, users)
    page = assessor.get(f"/sittings/{sitting.id}").get_data(as_text=True)
    trainee_id = users[_role("trainee")].id
    token = csrf_token(assessor, f"/sittings/{sitting.id}")
    assessor.post(f"/sittings/{sitting.id}", data={"csrf_token": token, "users": [str(trainee_id)]})
    candidate = db.session.query(SittingCandidate).filter_by(sitting_id=sitting.id).one()
    assert "trainee1" in assessor.get(f"/sittings/{sitting.id}").get_data(as_text=True)

    trainee = _trainee_client(app)
    assert "2026年第4期四级鉴定" in trainee.get("/my/sittings").get_data(as_text=True)
    page = trainee.get(f"/my/sittings/{sitting.id}").get_data(as_text=True)
    assert "考场口令" in page and "start-theory" not in page
    token = csrf_token(trainee, f"/my/sittings/{sitting.id}")
    trainee.post(f"/my/sittings/{sitting.id}", data={"csrf_token": token, "code": "wrong"})
    assert "start-theory" not in trainee.get(f"/my/sittings/{sitting.id}").get_data(as_text=True)
    token = csrf_token(trainee, f"/my/sittings/{sitting.id}")
    trainee.post(f"/my/sittings/{sitting.id}", data={"csrf_token": token, "code": "8848"})
    page = trainee.get(f"/my/sittings/{sitting.id}").get_data(as_text=True)
    assert "start-theory" in page

    # theory: start, answer nothing much, submit
    token = csrf_token(trainee, f"/my/sittings/{sitting.id}")
    resp = trainee.post(f"/my/sittings/{sitting.id}/theory", data={"csrf_token": token})
    assert resp.status_code == 302 and "/theory/attempts/" in resp.headers["Location"]
    attempt = service.theory_attempt(fresh(SittingCandidate, candidate.id))
    assert attempt.mode == "certification" and not attempt.released
    exam.submit(attempt)
    db.session.expire_all()
    proctor = assessor.get(f"/sittings/{sitting.id}/proctor.json").get_json()
    assert proctor["candidates"][0]["theory"]["status"] == "submitted"

    # practical: answer every non-call task in writing; the calls stay unanswered (score 0)
    plan = fresh(SittingCandidate, candidate.id).practical_plan
    for index, item in enumerate(plan):
        token = csrf_token(trainee, f"/my/sittings/{sitting.id}")
        resp = trainee.post(f"/my/sittings/{sitting.id}/practical/{index}", data={"csrf_token": token})
        assert resp.status_code == 302
        if item["type"] == "live_call":
            continue
        call_page = trainee.get(resp.headers["Location"]).get_data(as_text=True)
        meta = re.search(r'name="csrf-token" content="([^"]+)"', call_page).group(1)
        call_id = resp.headers["Location"].rsplit("/", 1)[-1]
        if item["type"] == "recording_review":
            answer = scenario_fixture("review-fixture")["reference_answers"][0]["text"]
        else:
            answer = {"typed": scenario_fixture("typing-fixture")["typing"]["text"]}
        data = {"text": answer} if isinstance(answer, str) else answer
        assert trainee.post(f"/practical/tasks/{call_id}/submit", data=data,
                            headers={"X-CSRFToken": meta}).status_code == 200
        hidden = trainee.get(f"/practical/calls/{call_id}/result").get_data(as_text=True)
        assert "成绩在考评员发布后" in hidden and "逐项评分" not in hidden, "no score before publishing"

    # review and override one item with a reason
    candidate = fresh(SittingCandidate, candidate.id)
    review_index = next(i for i, p in enumerate(candidate.practical_plan) if p["type"] == "recording_review")
    call = service.practical_call(candidate, review_index)
    review = assessor.get(f"/sittings/{sitting.id}/candidates/{candidate.id}").get_data(as_text=True)
    assert "指出开头没有规范问候和报工号" in review and "审计日志" in review
    token = csrf_token(assessor, f"/sittings/{sitting.id}/candidates/{candidate.id}")
    url = f"/sittings/{sitting.id}/candidates/{candidate.id}/calls/{call.id}/override"
    assessor.post(url, data={"csrf_token": token, "item_id": "right-help", "points": "10", "reason": ""})
    assert not fresh(PracticalCall, call.id).overrides, "no override without a reason"
    assessor.post(url, data={"csrf_token": token, "item_id": "right-help", "points": "10",
                             "reason": "说法不够完整，酌情给一半"})
    call = fresh(PracticalCall, call.id)
    assert call.overrides["right-help"]["points"] == 10 and call.effective_score() == 90.0
    entry = db.session.query(AuditEntry).filter_by(action="override").one()
    assert entry.before == {"points": 20.0} and entry.after == {"points": 10.0} and "酌情" in entry.reason
    assert "说法不够完整" in assessor.get(f"/sittings/{sitting.id}/candidates/{candidate.id}").get_data(as_text=True)

    # publish
    token = csrf_token(assessor, f"/sittings/{sitting.id}")
    assessor.post(f"/sittings/{sitting.id}/publish", data={"csrf_token": token})
    candidate = fresh(SittingCandidate, candidate.id)
    sitting = fresh(Sitting, sitting.id)
    assert sitting.published_at is not None and candidate.certified is False, "unanswered calls: not certified"
    assert candidate.practical_score == pytest.approx(0.2 * 90 + 0.2 * 100, abs=0.2)
    page = trainee.get(f"/my/sittings/{sitting.id}").get_data(as_text=True)
    assert "不合格" in page and "下载成绩报告" in page
    report = trainee.get(f"/my/sittings/{sitting.id}/report.pdf")
    assert report.status_code == 200 and report.data.startswith(b"%PDF")
    assert trainee.get(f"/my/sittings/{sitting.id}/certificate.pdf").status_code == 404
    xlsx = assessor.get(f"/sittings/{sitting.id}/results.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    assert sheet["A2"].value == "trainee1" and sheet["F2"].value == "不合格"
    token = csrf_token(assessor, f"/sittings/{sitting.id}/candidates/{candidate.id}")
    assessor.post(url, data={"csrf_token": token, "item_id": "right-help", "points": "20", "reason": "发布后再改"})
    assert fresh(PracticalCall, call.id).overrides["right-help"]["points"] == 10, "published results are final"


def test_certificate_and_public_verification(app, users, sitting, client):
    users[_role("trainee")].display_name = "张晓明"
    candidate = service.enrol(sitting, [users[_role("trainee")]], users[_role("assessor")])[0]
    attempt = service.start_theory(candidate)
    exam.submit(attempt)
    attempt.score, attempt.passed = 82.0, True          # as if answered well (the bank here is generated)
    for index in range(len(candidate.practical_plan)):
        call = service.start_practical(candidate, index, users[_role("trainee")])
        call.status, call.result = "finished", {"total": 90, "items": [{"id": "x", "label": "x", "points_possible": 100,
                                                                         "points_earned": 90.0}]}
    db.session.commit()
    assert service.scores(candidate).certified
    service.publish(sitting, users[_role("assessor")])
    number = candidate.certificate_number
    assert number and number.startswith(f"HJ{sitting.opens_at:%Y}4")
    page = client.get(f"/verify/{number}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "证书有效" in text and "张晓明" in text and "四级" in text
    assert "trainee1" not in text, "the login name is not published"
    assert client.get("/verify/HJ000000").status_code == 404
    trainee = _trainee_client(app)
    cert = trainee.get(f"/my/sittings/{sitting.id}/certificate.pdf")
    assert cert.status_code == 200 and cert.data.startswith(b"%PDF")


def test_extend_and_reopen_are_audited(app, users, sitting):
    assessor = users[_role("assessor")]
    candidate = service.enrol(sitting, [users[_role("trainee")]], assessor)[0]
    attempt = service.start_theory(candidate)
    with pytest.raises(service.SittingError, match="理由"):
        service.extend_time(candidate, 10, "", assessor)
    service.extend_time(candidate, 10, "考生电脑故障", assessor)
    assert service.theory_attempt(candidate).extra_minutes == 10
    exam.submit(attempt)
    service.reopen_theory(candidate, "停电导致误交卷", assessor)
    assert service.theory_attempt(candidate).is_open
    actions = [e.action for e in db.session.query(AuditEntry).filter_by(candidate_user_id=candidate.user_id)]
    assert actions.count("extend_time") == 1 and actions.count("reopen") == 1


def test_who_sees_what(app, users, make_user, sitting):
    other_assessor = make_user("assessor2", _role("assessor"))
    candidate = service.enrol(sitting, [users[_role("trainee")]], users[_role("assessor")])[0]
    own = _assessor_client(app, users)
    assert own.get(f"/sittings/{sitting.id}").status_code == 200
    other = app.test_client()
    login(other, "assessor2", PASSWORD)
    for url in (f"/sittings/{sitting.id}", f"/sittings/{sitting.id}/proctor.json",
                f"/sittings/{sitting.id}/candidates/{candidate.id}", f"/sittings/{sitting.id}/results.xlsx"):
        assert other.get(url).status_code == 404, url
    assert "2026年第4期" not in other.get("/sittings/").get_data(as_text=True)
    admin = app.test_client()
    login(admin, "admin1", PASSWORD)
    assert admin.get(f"/sittings/{sitting.id}").status_code == 200
    make_user("trainee2")
    stranger = _trainee_client(app, "trainee2")
    assert stranger.get(f"/my/sittings/{sitting.id}").status_code == 404
    assert stranger.get(f"/sittings/{sitting.id}").status_code == 403
    trainee = _trainee_client(app)
    assert trainee.get(f"/my/sittings/{sitting.id}/report.pdf").status_code == 404, "no report before publishing"
    del other_assessor
