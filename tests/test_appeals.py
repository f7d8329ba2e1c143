"""Appeals (申诉): after publishing, a candidate appeals one graded item within the window; the assessor
upholds it with a new score (the practical score and verdict follow) or rejects it; either answer is
final and written to the audit log. Driven through the pages, with real CSRF tokens."""
from __future__ import annotations

import re
from datetime import timedelta

from exams import attempts as exam
from simulator.auth.models import Role
from simulator.extensions import db
from simulator.sittings import service
from simulator.sittings.models import Appeal, AppealState, AuditEntry, Sitting, SittingCandidate
from tests.conftest import PASSWORD
from tests.helpers import csrf_token, login


def _client(app, username):
    client = app.test_client()
    login(client, username, PASSWORD)
    return client


def _published(users, sitting, practical_points=50.0) -> SittingCandidate:
    """Theory 80; every task graded ``practical_points`` of 100 on one item plus nothing else."""
    trainee = users[Role.TRAINEE]
    candidate = service.enrol(sitting, [trainee], users[Role.ASSESSOR])[0]
    attempt = service.start_theory(candidate)
    exam.submit(attempt)
    attempt.score, attempt.passed = 80.0, True
    for index, _ in enumerate(candidate.practical_plan):
        call = service.start_practical(candidate, index, trainee)
        call.status, call.result = "finished", {"total": practical_points, "items": [
            {"id": "greeting", "label": "规范问候并报工号", "points_possible": 100, "points_earned": practical_points,
             "verdict": "partial"}]}
    db.session.commit()
    service.publish(sitting, users[Role.ASSESSOR])
    return db.session.get(SittingCandidate, candidate.id)


def _fresh(model, key):
    db.session.expire_all()
    return db.session.get(model, key)


APPEAL_STATEMENT = "开头已经说了“您好，工号 1024 为您服务”，录音第 2 秒可以听到。"


def _appeal(client, sitting_id, call_id, statement=APPEAL_STATEMENT, token=None):
    token = token or csrf_token(client, f"/my/sittings/{sitting_id}")
    return client.post(f"/my/sittings/{sitting_id}/appeals", data={
        "csrf_token": token, "call_id": call_id, "item_id": "greeting", "statement": statement}, follow_redirects=True)


def test_appeal_upheld_raises_the_score_and_the_verdict(app, users, sitting):
    candidate = _published(users, sitting)
    assert candidate.certified is False and candidate.practical_score == 50.0
    call = service.practical_call(candidate, 0)
    trainee = _client(app, "trainee1")
    page = trainee.get(f"/my/sittings/{sitting.id}").get_data(as_text=True)
    assert 'data-testid="appeals"' in page and "规范问候并报工号" in page and "提交申诉" in page

    short = _appeal(trainee, sitting.id, call.id, statement="不服").get_data(as_text=True)
    assert "10" in short and db.session.query(Appeal).count() == 0
    assert "已提交" in _appeal(trainee, sitting.id, call.id).get_data(as_text=True)
    again = _appeal(trainee, sitting.id, call.id).get_data(as_text=True)
    assert "已经申诉过" in again and db.session.query(Appeal).count() == 1, "one appeal per item"
    appeal = db.session.query(Appeal).one()
    assert appeal.state == AppealState.OPEN and appeal.points_before == 50.0
    assert "待处理" in trainee.get(f"/my/sittings/{sitting.id}").get_data(as_text=True)

    assessor = _client(app, "assessor1")
    assert "1 项待处理" in assessor.get(f"/sittings/{sitting.id}").get_data(as_text=True)
    listing = assessor.get(f"/sittings/{sitting.id}/appeals").get_data(as_text=True)
    assert "录音第 2 秒可以听到" in listing
    url = f"/sittings/{sitting.id}/appeals/{appeal.id}"
    token = csrf_token(assessor, f"/sittings/{sitting.id}/appeals")
    page = assessor.post(url, data={"csrf_token": token, "decision": "upheld", "points": "40", "reason": "核实录音"},
                         follow_redirects=True).get_data(as_text=True)
    assert "新得分应高于原得分" in page and _fresh(Appeal, appeal.id).state == AppealState.OPEN
    assessor.post(url, data={"csrf_token": token, "decision": "upheld", "points": "100",
                             "reason": "录音第 2 秒确有规范问候和工号"})
    appeal = _fresh(Appeal, appeal.id)
    candidate = _fresh(SittingCandidate, candidate.id)
    weight = candidate.practical_plan[0]["weight"]
    assert appeal.state == AppealState.UPHELD and appeal.points_after == 100
    assert candidate.practical_score == round(50.0 + weight * 0.5, 1)
    assert candidate.report["practical"] == candidate.practical_score

    page = assessor.post(url, data={"csrf_token": token, "decision": "rejected", "reason": "改主意了"},
                         follow_redirects=True).get_data(as_text=True)
    assert "已处理" in page and _fresh(Appeal, appeal.id).state == AppealState.UPHELD, "an answer is final"
    entries = [e.action for e in db.session.query(AuditEntry).filter_by(sitting_id=sitting.id)]
    assert entries.count("appeal_open") == 1 and entries.count("appeal_upheld") == 1
    review_page = assessor.get(f"/sittings/{sitting.id}/candidates/{candidate.id}").get_data(as_text=True)
    review = re.sub(r"<[^>]+>", "", review_page)
    assert "申诉成立" in review and "50 分 → 100 分" in review and "录音第 2 秒确有规范问候和工号" in review
    assert "申诉成立" in trainee.get(f"/my/sittings/{sitting.id}").get_data(as_text=True)


def test_an_appeal_that_makes_the_pass_issues_the_certificate(app, users, sitting):
    candidate = _published(users, sitting, practical_points=55.0)
    assert not candidate.certified and candidate.certificate_number is None
    trainee = _client(app, "trainee1")
    calls = [service.practical_call(candidate, i) for i in range(len(candidate.practical_plan))]
    _appeal(trainee, sitting.id, calls[0].id)
    appeal = db.session.query(Appeal).one()
    service.answer_appeal(appeal, upheld=True, points=100, reason="核实后改判", actor=users[Role.ASSESSOR])
    candidate = _fresh(SittingCandidate, candidate.id)
    assert candidate.certified and candidate.certificate_number
    assert trainee.get(f"/my/sittings/{sitting.id}/certificate.pdf").status_code == 200


def test_rejected_appeal_keeps_the_score(app, users, sitting):
    candidate = _published(users, sitting)
    trainee = _client(app, "trainee1")
    _appeal(trainee, sitting.id, service.practical_call(candidate, 0).id)
    appeal = db.session.query(Appeal).one()
    assessor = _client(app, "assessor1")
    token = csrf_token(assessor, f"/sittings/{sitting.id}/appeals")
    assessor.post(f"/sittings/{sitting.id}/appeals/{appeal.id}",
                  data={"csrf_token": token, "decision": "rejected", "reason": "录音中没有报工号"})
    assert _fresh(Appeal, appeal.id).state == AppealState.REJECTED
    assert _fresh(SittingCandidate, candidate.id).practical_score == 50.0
    page = trainee.get(f"/my/sittings/{sitting.id}").get_data(as_text=True)
    assert "申诉驳回" in page and "录音中没有报工号" in page


def test_the_appeal_window(app, users, sitting):
    app.config["APPEAL_WINDOW_DAYS"] = 7
    candidate = _published(users, sitting)
    s = db.session.get(Sitting, sitting.id)
    s.published_at = s.published_at - timedelta(days=7, minutes=1)
    db.session.commit()
    trainee = _client(app, "trainee1")
    page = trainee.get(f"/my/sittings/{sitting.id}").get_data(as_text=True)
    assert "申诉期已于" in page and "提交申诉" not in page
    answer = _appeal(trainee, sitting.id, service.practical_call(candidate, 0).id).get_data(as_text=True)
    assert "申诉期已过" in answer and "7 天内" in answer and db.session.query(Appeal).count() == 0


def test_appeal_roles_csrf_and_before_publishing(app, users, make_user, sitting):
    trainee_user = users[Role.TRAINEE]
    candidate = service.enrol(sitting, [trainee_user], users[Role.ASSESSOR])[0]
    call = service.start_practical(candidate, 1, trainee_user)
    call.status, call.result = "finished", {"total": 10, "items": [
        {"id": "greeting", "label": "规范问候", "points_possible": 100, "points_earned": 10.0}]}
    db.session.commit()
    trainee = _client(app, "trainee1")
    assert "成绩发布后才能申诉" in _appeal(trainee, sitting.id, call.id).get_data(as_text=True)

    service.publish(sitting, users[Role.ASSESSOR], despite_pending=True)
    resp = trainee.post(f"/my/sittings/{sitting.id}/appeals", data={"call_id": call.id, "item_id": "greeting",
                                                                     "statement": "没有令牌的申诉也不应被接受。"})
    assert resp.status_code == 400 and db.session.query(Appeal).count() == 0, "CSRF"

    make_user("trainee2")
    stranger = _client(app, "trainee2")
    token = csrf_token(stranger, "/practical/")
    assert stranger.post(f"/my/sittings/{sitting.id}/appeals", data={
        "csrf_token": token, "call_id": call.id, "item_id": "greeting", "statement": "别人的成绩我也想申诉一下。"}
    ).status_code == 404, "not their sitting"
    _appeal(trainee, sitting.id, call.id)
    appeal = db.session.query(Appeal).one()
    token = csrf_token(trainee, f"/my/sittings/{sitting.id}")
    assert trainee.post(f"/sittings/{sitting.id}/appeals/{appeal.id}",
                        data={"csrf_token": token, "decision": "upheld", "points": "100",
                              "reason": "自己改分"}).status_code == 403
    assert trainee.get(f"/sittings/{sitting.id}/appeals").status_code == 403
    make_user("assessor2", Role.ASSESSOR)
    other = _client(app, "assessor2")
    assert other.get(f"/sittings/{sitting.id}/appeals").status_code == 404, "another assessor's sitting"
    assert _fresh(Appeal, appeal.id).state == AppealState.OPEN
