"""What only a real browser can tell: on the review transcript each utterance's player sits under its
words, never over them; textareas use the page's font (not the browser's monospace); disabled buttons
look and feel disabled, unlike enabled ones; the browser's own form-check tooltips speak Chinese on every
page, not only on the authoring pages."""
from __future__ import annotations

import json
import uuid
import wave
from datetime import timedelta
from pathlib import Path

import pytest

from .conftest import sign_in, start_server

pytestmark = pytest.mark.browser

LONG_ANSWER = ("您好，工号1035，很高兴为您服务。您这个月的话费是八十六元，其中套餐费五十八元，语音超出部分十八元，"
               "流量包十元；如果您经常打电话，我建议您换成一百元的套餐，这样每月还能多出两百分钟的通话时间。")


def _review_page_with_a_finished_call(db_url: str, calls_dir: Path) -> str:
    """In the server's database: a level-5 sitting whose trainee finished a live call, with a record of a
    long answer (it wraps over lines) and its clip. Returns the review page's path."""
    from simulator import config, create_app
    from simulator.auth.models import User
    from simulator.extensions import db
    from simulator.practical.models import PracticalCall
    from simulator.sittings import service
    from simulator.sittings.models import utcnow

    app = create_app({**config.from_env(Path("/tmp"), env={"SECRET_KEY": "x"}), "SQLALCHEMY_DATABASE_URI": db_url})
    with app.app_context():
        assessor = db.session.query(User).filter_by(username="assessor").one()
        trainee = db.session.query(User).filter_by(username="trainee").one()
        start = utcnow() - timedelta(minutes=5)
        sitting = service.create_sitting(assessor, name="版式检查批次", level=5, opens_at=start,
                                         closes_at=start + timedelta(hours=3), access_code="5150")
        candidate = service.enrol(sitting, [trainee], assessor)[0]
        plan = list(candidate.practical_plan)
        index = next(i for i, p in enumerate(plan) if p["type"] == "live_call")
        call_id = str(uuid.uuid4())
        call_dir = calls_dir / call_id
        (call_dir / "agent").mkdir(parents=True)
        with wave.open(str(call_dir / "agent" / "000.wav"), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(16000)
            w.writeframes(b"\0\0" * 16000)
        record = {"events": [
            {"t": 0.0, "type": "answered", "rings": 1},
            {"t": 1.0, "type": "caller_utterance", "turn": 0, "text": "我想查一下这个月的话费。"},
            {"t": 3.0, "type": "agent_utterance", "index": 0, "start": 3.0, "end": 12.0, "audio": "agent/000.wav",
             "transcript": {"text": LONG_ANSWER}},
            {"t": 13.0, "type": "caller_utterance", "turn": 1, "text": "好的，谢谢。"},
            {"t": 15.0, "type": "hangup", "by": "caller"}]}
        (call_dir / "record.json").write_text(json.dumps(record, ensure_ascii=False), "utf-8")
        db.session.add(PracticalCall(id=call_id, user_id=trainee.id, scenario_version_id=plan[index]["version_id"],
                                     mode="certification", status="finished", call_dir=str(call_dir),
                                     sitting_candidate_id=candidate.id, result={"total": 80, "items": [
                                         {"id": "x", "label": "服务用语", "points_possible": 100,
                                          "points_earned": 80.0, "verdict": "pass"}]}))
        plan[index] = {**plan[index], "call_id": call_id}
        candidate.practical_plan = plan
        db.session.commit()
        return f"/sittings/{sitting.id}/candidates/{candidate.id}"


# For each agent utterance: the boxes of its words (one per line they wrap over) and of its player.
BOXES = """() => {
  const box = (r) => [r.left, r.top, r.right, r.bottom];
  return [...document.querySelectorAll('.transcript li.agent')].map(li => ({
    words: [...li.querySelector('.said').getClientRects()].map(box),
    player: box(li.querySelector('audio.clip').getBoundingClientRect()),
    next: li.nextElementSibling ? box(li.nextElementSibling.getBoundingClientRect()) : null,
  }));
}"""


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _tooltip(page, selector: str, value: str) -> str:
    """What the browser would say about ``selector`` holding ``value`` when its form is submitted."""
    return page.eval_on_selector(selector, "(el, value) => { el.value = value; el.reportValidity();"
                                           " return el.validationMessage; }", value)


def _style(page, selector: str, prop: str) -> str:
    return page.eval_on_selector(selector, f"el => getComputedStyle(el).getPropertyValue('{prop}')")


def test_players_sit_under_the_words_textareas_use_the_page_font_disabled_buttons_look_disabled(tmp_path, browser):
    calls_dir = tmp_path / "calls"
    proc, base = start_server(tmp_path, {"CALLS_DIR": str(calls_dir)})
    contexts = []

    def signed_in(username: str, password: str):
        context = browser.new_context(locale="zh-CN", viewport={"width": 1000, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(20000)
        sign_in(page, base, username, password)
        return page

    try:
        review = _review_page_with_a_finished_call(f"sqlite:///{tmp_path / 'browser.sqlite3'}", calls_dir)
        page = signed_in("assessor", "assessor123")
        page.goto(base + review)
        page.wait_for_selector("audio.clip")
        boxes = page.evaluate(BOXES)
        assert boxes, "the transcript shows the agent's utterance"
        for utterance in boxes:
            assert len(utterance["words"]) >= 2, "the long answer wraps, the case where a player could cover it"
            for line in utterance["words"]:
                assert not _overlap(line, utterance["player"]), (line, utterance["player"])
            assert utterance["player"][1] >= max(line[3] for line in utterance["words"]) - 0.5, "under the words"
            if utterance["next"]:
                assert not _overlap(utterance["player"], utterance["next"]), "nor over the next line"
        page.screenshot(path=str(tmp_path / "review.png"), full_page=True)
        assert _tooltip(page, "input[name=points]", "999") == "不能大于 100", "a range the browser checks"

        anonymous = browser.new_context(locale="zh-CN")
        contexts.append(anonymous)
        verify = anonymous.new_page()
        verify.goto(base + "/verify")
        assert _tooltip(verify, "input[name=number]", "") == "请填写此项"

        page = signed_in("trainer", "trainer123")
        page.goto(base + "/scenarios/new")
        body_font = _style(page, "body", "font-family")
        assert "PingFang SC" in body_font
        brief = "textarea[name=n-brief]"
        assert _style(page, brief, "font-family") == body_font, "a textarea writes in the page's font"
        assert _style(page, "input[name=n-title]", "font-family") == body_font
        assert "monospace" in _style(page, "textarea.code", "font-family"), "the YAML editor stays monospaced"
        assert _tooltip(page, "input[name=n-title]", "") == "请填写标题", "the field's own message where it has one"

        page = signed_in("trainee", "trainee123")
        page.goto(base + "/practical/device")
        disabled = "[data-testid=device-record]"
        enabled = "[data-testid=device-allow]"
        assert page.is_disabled(disabled) and page.is_enabled(enabled)
        assert float(_style(page, disabled, "opacity")) < 0.6 and _style(page, disabled, "cursor") == "not-allowed"
        assert float(_style(page, enabled, "opacity")) == 1.0 and _style(page, enabled, "cursor") == "pointer"
    finally:
        for context in contexts:
            context.close()
        proc.terminate()
        proc.wait(timeout=20)
