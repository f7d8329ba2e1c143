"""What an assessor reads and does on the sitting pages: pass marks from the blueprints, local time,
the audit log and the review transcript in words, the recording warning, publishing with items still
待复核, and the small wordings (nobody selected, no repository file names, back to the sitting)."""
from __future__ import annotations

import io
import json
import re
from datetime import datetime
from pathlib import Path

import yaml

import exams
from exams import attempts as exam
from scenarios import blueprint as practical_blueprint
from simulator.auth.models import Role
from simulator.extensions import db
from simulator.practical.models import PracticalCall
from simulator.sittings import service
from simulator.sittings.models import AuditEntry, Sitting, SittingCandidate
from tests.conftest import PASSWORD
from tests.helpers import csrf_token, login


def _client(app, username):
    client = app.test_client()
    login(client, username, PASSWORD)
    return client


def _text(html: str) -> str:
    """What a reader sees: no tags, no scripts (the page's label blob names codes on purpose)."""
    return re.sub(r"<[^>]+>", "", re.sub(r"(?s)<script.*?</script>", "", html))


def _finish_all(candidate, trainee, *, theory: float, practical: float, items=None):
    """The candidate's paper scored ``theory`` and every practical task ``practical`` (as graded)."""
    attempt = service.start_theory(candidate)
    exam.submit(attempt)
    attempt.score, attempt.passed = theory, theory >= 60
    for index, _ in enumerate(candidate.practical_plan):
        call = service.start_practical(candidate, index, trainee)
        call.status = "finished"
        call.result = {"total": practical, "items": items or [
            {"id": "x", "label": "服务用语", "points_possible": 100, "points_earned": practical, "verdict": "pass"}]}
    db.session.commit()


def _with_pass_marks(monkeypatch, tmp_path, theory: int, practical: int, level: int = 4):
    """Both blueprint files as shipped, except the pass marks of ``level``."""
    theory_data = yaml.safe_load(Path(exams.blueprint.BLUEPRINTS_FILE).read_text("utf-8"))
    theory_data["levels"][level]["pass_mark"] = theory
    practical_data = yaml.safe_load(Path(practical_blueprint.BLUEPRINTS_FILE).read_text("utf-8"))
    practical_data["levels"][level]["pass_mark"] = practical
    (tmp_path / "theory.yaml").write_text(yaml.safe_dump(theory_data, allow_unicode=True), "utf-8")
    (tmp_path / "practical.yaml").write_text(yaml.safe_dump(practical_data, allow_unicode=True), "utf-8")
    load_theory, load_practical = exams.load_blueprints, practical_blueprint.load
    monkeypatch.setattr(exams, "load_blueprints", lambda path=tmp_path / "theory.yaml": load_theory(path))
    monkeypatch.setattr(practical_blueprint, "load", lambda path=tmp_path / "practical.yaml": load_practical(path))


def test_pass_marks_come_from_the_blueprints(app, users, sitting, monkeypatch, tmp_path):
    trainee = users[Role.TRAINEE]
    candidate = service.enrol(sitting, [trainee], users[Role.ASSESSOR])[0]
    _finish_all(candidate, trainee, theory=82.0, practical=90.0)
    assert service.scores(candidate).certified, "82 and 90 pass the shipped marks (60/60)"

    _with_pass_marks(monkeypatch, tmp_path, theory=85, practical=60)
    s = service.scores(candidate)
    assert (s.theory_pass_mark, s.practical_pass_mark) == (85, 60) and not s.certified
    _with_pass_marks(monkeypatch, tmp_path, theory=60, practical=95)
    assert not service.scores(candidate).certified, "the practical mark counts too"

    page = _client(app, "assessor1").get("/sittings/new").get_data(as_text=True)
    assert "四级 理论 60 分、操作 95 分" in page
    assert "blueprints.yaml" not in page, "the form names no repository file"
    service.publish(sitting, users[Role.ASSESSOR])
    candidate = db.session.get(SittingCandidate, candidate.id)
    assert candidate.certified is False and candidate.certificate_number is None
    assert candidate.report["practical_pass_mark"] == 95


def test_times_are_entered_and_shown_in_local_time(app, users, content):
    assessor = _client(app, "assessor1")
    page = assessor.get("/sittings/new").get_data(as_text=True)
    assert "UTC" not in page and "北京时间" in page
    token = csrf_token(assessor, "/sittings/new")
    resp = assessor.post("/sittings/new", data={"csrf_token": token, "name": "十二月批次", "level": "5",
                                                 "opens_at": "2026-12-02T09:00", "closes_at": "2026-12-02T11:30"})
    assert resp.status_code == 302
    created = db.session.query(Sitting).filter_by(name="十二月批次").one()
    assert created.opens_at == datetime(2026, 12, 2, 1, 0) and created.closes_at == datetime(2026, 12, 2, 3, 30), \
        "stored in UTC (Shanghai is UTC+8)"
    detail = assessor.get(f"/sittings/{created.id}").get_data(as_text=True)
    assert "2026-12-02 09:00" in detail and "11:30" in detail and "UTC" not in detail
    assert "2026-12-02 09:00" in assessor.get("/sittings/").get_data(as_text=True)

    bad = assessor.post("/sittings/new", data={"csrf_token": token, "name": "坏时间", "level": "5",
                                                "opens_at": "明天上午", "closes_at": "2026-12-02T11:30"})
    assert bad.status_code == 200 and "请按" in bad.get_data(as_text=True)
    assert "Not a valid" not in bad.get_data(as_text=True)


def test_time_zone_is_configurable(tmp_path, database):
    from simulator import config as config_module
    from simulator import create_app
    from simulator.localtime import localtime, to_utc

    app = create_app(config_module.for_tests(tmp_path, TIME_ZONE="UTC"))
    with app.app_context():
        assert localtime(datetime(2026, 12, 2, 1, 0)) == "2026-12-02 01:00"
        assert to_utc(datetime(2026, 12, 2, 1, 0)) == datetime(2026, 12, 2, 1, 0)
    app.config["TIME_ZONE"] = "Asia/Shanghai"
    with app.app_context():
        assert localtime(datetime(2026, 12, 1, 20, 0)) == "2026-12-02 04:00"


def test_enrolling_nobody_says_so(app, users, sitting):
    assessor = _client(app, "assessor1")
    token = csrf_token(assessor, f"/sittings/{sitting.id}")
    page = assessor.post(f"/sittings/{sitting.id}", data={"csrf_token": token},
                         follow_redirects=True).get_data(as_text=True)
    assert "请先在列表中选择要报名的学员" in page and "已报名 0 人" not in page


def _live_call_index(candidate) -> int:
    return next(i for i, p in enumerate(candidate.practical_plan) if p["type"] == "live_call")


def _write_record(call: PracticalCall, **extra) -> None:
    record = {"events": [
        {"t": 0.0, "type": "answered", "rings": 1},
        {"t": 1.0, "type": "caller_utterance", "turn": 0, "text": "我想查一下话费。"},
        {"t": 3.0, "type": "agent_utterance", "index": 0, "start": 3.0, "end": 5.0, "audio": "agent/000.wav",
         "transcript": {"text": "您好，请问有什么可以帮您？"}},
        {"t": 20.0, "type": "hold", "on": True},
        {"t": 30.0, "type": "hold", "on": False},
        {"t": 58.1, "type": "hangup", "by": "caller"}], **extra}
    Path(call.call_dir).mkdir(parents=True, exist_ok=True)
    (Path(call.call_dir) / "record.json").write_text(json.dumps(record, ensure_ascii=False), "utf-8")


def test_review_transcript_in_words_with_the_recording_warning(app, users, sitting):
    trainee = users[Role.TRAINEE]
    candidate = service.enrol(sitting, [trainee], users[Role.ASSESSOR])[0]
    _finish_all(candidate, trainee, theory=70.0, practical=80.0)
    call = service.practical_call(candidate, _live_call_index(candidate))
    _write_record(call, warnings=["录音合成失败：缺少客户第 2 句的音频"])
    page = _client(app, "assessor1").get(f"/sittings/{sitting.id}/candidates/{candidate.id}").get_data(as_text=True)
    text = _text(page)
    assert "客户挂机（58.1 秒）" in text and "保持通话（20.0 秒）" in text and "取消保持（30.0 秒）" in text
    assert "hangup" not in text and "hold" not in text and "answered" not in text, "no raw event names"
    assert 'data-testid="record-warning"' in page and "录音合成失败：缺少客户第 2 句的音频" in text
    assert 'class="clip"' in page, "per-utterance players sit in their own block"

    other = service.practical_call(candidate, next(i for i, p in enumerate(candidate.practical_plan)
                                                   if p["type"] == "live_call" and i != _live_call_index(candidate)))
    _write_record(other)
    page = _client(app, "assessor1").get(f"/sittings/{sitting.id}/candidates/{candidate.id}").get_data(as_text=True)
    assert page.count('data-testid="record-warning"') == 1, "a record without warnings shows none"


def test_audit_log_reads_as_sentences(app, users, sitting):
    trainee = users[Role.TRAINEE]
    trainee.display_name = "李小红"
    candidate = service.enrol(sitting, [trainee], users[Role.ASSESSOR])[0]
    _finish_all(candidate, trainee, theory=70.0, practical=80.0, items=[
        {"id": "speech-rate", "label": "语速适中", "points_possible": 10, "points_earned": 0.0, "verdict": "review"},
        {"id": "x", "label": "服务用语", "points_possible": 90, "points_earned": 80.0, "verdict": "pass"}])
    call = service.practical_call(candidate, 0)
    assessor = _client(app, "assessor1")
    review_url = f"/sittings/{sitting.id}/candidates/{candidate.id}"
    token = csrf_token(assessor, review_url)
    assessor.post(f"{review_url}/calls/{call.id}/override",
                  data={"csrf_token": token, "item_id": "speech-rate", "points": "8", "reason": "录音中语速正常"})
    assessor.post(f"{review_url}/extend", data={"csrf_token": token, "minutes": "5", "reason": "考生电脑故障"})
    text = _text(assessor.get(review_url).get_data(as_text=True))
    assert f"修改评分：{call.scenario.title} · 语速适中" in text and "0 分 → 8 分" in text
    assert "李小红（trainee1）" in text and "录音中语速正常" in text and "assessor1" in text
    assert "延长理论考试时间" in text and "共延长 0 分钟 → 5 分钟" in text
    assert "call:" not in text and '"points"' not in text and "override" not in text


def test_publishing_with_items_to_review_warns_and_links_to_them(app, users, sitting):
    trainee = users[Role.TRAINEE]
    candidate = service.enrol(sitting, [trainee], users[Role.ASSESSOR])[0]
    _finish_all(candidate, trainee, theory=70.0, practical=80.0, items=[
        {"id": "speech-rate", "label": "语速适中", "points_possible": 10, "points_earned": 0.0, "verdict": "review"},
        {"id": "x", "label": "服务用语", "points_possible": 90, "points_earned": 80.0, "verdict": "pass"}])
    calls = [service.practical_call(candidate, i) for i in range(len(candidate.practical_plan))]
    assessor = _client(app, "assessor1")
    detail = assessor.get(f"/sittings/{sitting.id}").get_data(as_text=True)
    assert f"还有 {len(calls)} 个评分项待复核" in detail
    link = f"/sittings/{sitting.id}/candidates/{candidate.id}#item-{calls[0].id}-speech-rate"
    assert link in detail
    review = assessor.get(link.split("#")[0]).get_data(as_text=True)
    assert f'id="item-{calls[0].id}-speech-rate"' in review, "the link lands on the item's override form"

    token = csrf_token(assessor, f"/sittings/{sitting.id}")
    page = assessor.post(f"/sittings/{sitting.id}/publish", data={"csrf_token": token},
                         follow_redirects=True).get_data(as_text=True)
    assert db.session.get(Sitting, sitting.id).published_at is None and "待复核" in page

    for call in calls[1:]:                    # settle all but one
        token = csrf_token(assessor, f"/sittings/{sitting.id}/candidates/{candidate.id}")
        assessor.post(f"/sittings/{sitting.id}/candidates/{candidate.id}/calls/{call.id}/override",
                      data={"csrf_token": token, "item_id": "speech-rate", "points": "10", "reason": "复核后给满分"})
    detail = assessor.get(f"/sittings/{sitting.id}").get_data(as_text=True)
    assert "还有 1 个评分项待复核" in detail

    token = csrf_token(assessor, f"/sittings/{sitting.id}")
    assessor.post(f"/sittings/{sitting.id}/publish", data={"csrf_token": token, "despite_pending": "1"})
    db.session.expire_all()
    assert db.session.get(Sitting, sitting.id).published_at is not None, "published once the assessor confirms"
    entry = db.session.query(AuditEntry).filter_by(sitting_id=sitting.id, action="publish").one()
    assert "1 项待复核" in entry.reason


def test_certification_theory_result_leads_back_to_the_sitting(app, users, sitting):
    candidate = service.enrol(sitting, [users[Role.TRAINEE]], users[Role.ASSESSOR])[0]
    attempt = service.start_theory(candidate)
    exam.submit(attempt)
    trainee = _client(app, "trainee1")
    token = csrf_token(trainee, f"/my/sittings/{sitting.id}")
    trainee.post(f"/my/sittings/{sitting.id}", data={"csrf_token": token, "code": "8848"})
    page = trainee.get(f"/theory/attempts/{attempt.id}/result").get_data(as_text=True)
    assert f'href="/my/sittings/{sitting.id}"' in page and "返回鉴定批次" in page


def test_analytics_name_scenarios_by_title(app, users, sitting):
    candidate = service.enrol(sitting, [users[Role.TRAINEE]], users[Role.ASSESSOR])[0]
    _finish_all(candidate, users[Role.TRAINEE], theory=70.0, practical=50.0)
    assessor = _client(app, "assessor1")
    page = assessor.get("/analytics").get_data(as_text=True)
    call = service.practical_call(candidate, 0)
    assert call.scenario.title in _text(page)
    assert call.scenario.scenario_id not in re.sub(r"(?s)<script.*?</script>", "", page), "not even as a tooltip"
    from openpyxl import load_workbook
    sheet = load_workbook(io.BytesIO(assessor.get("/analytics.xlsx").data))["失分最多的评分项"]
    scenarios = {row[0] for row in sheet.iter_rows(min_row=2, values_only=True)}
    assert call.scenario.title in scenarios and call.scenario.scenario_id not in scenarios


def test_item_analysis_chart_says_why_it_is_empty_and_labels_its_lines(app, users, content):
    exam.submit(exam.start_attempt(db.session, users[Role.TRAINEE].id, mode="mock", level=5))
    page = _client(app, "trainer1").get("/bank/analysis").get_data(as_text=True)
    chart = re.search(r'<svg[^>]*data-testid="analysis-chart".*?</svg>', page, re.S).group(0)
    assert "<circle" not in chart and 'data-testid="analysis-empty"' in chart and "人作答后才计算区分度" in chart
    assert "D = 0：" in chart and "D = 0.2：" in chart, "both dotted lines say what they mark"
