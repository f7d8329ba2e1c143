"""The whole certification flow in Chromium, on the seeded product (real bank, real scenario library):
an assessor creates a level-5 sitting and enrols the trainee; the trainee sits the theory paper and the
practical exam (two live calls answered through Chromium's fake microphone with the product's own voice,
one recording review answered in writing); the assessor reviews, overrides one item with a reason and
publishes; the trainee sees the verdict, downloads the score report, and the certificate's public
verification page confirms it."""
from __future__ import annotations

import json
import re
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from scenarios import LIBRARY_DIR

from .conftest import fake_microphone_file, launch_with_fake_microphone, pass_device_check, sign_in, start_server

pytestmark = pytest.mark.browser
ACCESS_CODE = "6173"
SITTING = "2026年第11期五级鉴定（浏览器测试）"


def answer_wav(tmp: Path) -> Path:
    """A generic but well-formed agent: the opening, an offer of further help, the farewell, with pauses
    for the caller (Chromium loops the file)."""
    script: list = [8]     # the call is answered during this lead-in
    for text in ("您好，工号1035，很高兴为您服务。", "好的，请问还有什么可以帮您？", "感谢您的来电，再见。"):
        script += [text, 4.5]
    return fake_microphone_file(tmp, script, "answer.wav")


def test_a_certification_sitting_from_creation_to_the_verified_certificate(tmp_path, browser):
    calls_dir = tmp_path / "calls"
    proc, base = start_server(tmp_path, {"CALLS_DIR": str(calls_dir)})
    db_file = tmp_path / "browser.sqlite3"
    wav = answer_wav(tmp_path)
    fake_mic = launch_with_fake_microphone(browser, wav)
    assessor_ctx = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    trainee_ctx = fake_mic.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    trainee_ctx.grant_permissions(["microphone"], origin=base)
    assessor, trainee = assessor_ctx.new_page(), trainee_ctx.new_page()
    for page in (assessor, trainee):
        page.set_default_timeout(20000)
        page.on("dialog", lambda dialog: dialog.accept())
    try:
        sitting_url = _assessor_creates_and_enrols(assessor, base)
        sitting_id = int(sitting_url.rstrip("/").rsplit("/", 1)[-1])
        _trainee_sits_the_theory_paper(trainee, base, sitting_id, db_file)
        plan = _trainee_takes_the_practical_exam(trainee, base, sitting_id, db_file)
        reason = _assessor_reviews_overrides_and_publishes(assessor, sitting_url)
        _trainee_gets_the_result_and_the_certificate(trainee, base, sitting_id)
    finally:
        for page, name in ((assessor, "assessor"), (trainee, "trainee")):
            page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)
        fake_mic.close()
        assessor_ctx.close()
        proc.terminate()
        proc.wait(timeout=20)

    with sqlite3.connect(db_file) as con:
        audit = con.execute("SELECT action, reason, before, after FROM audit_log WHERE action = 'override'").fetchall()
    assert len(audit) == 1 and audit[0][1] == reason
    records = [json.loads(p.read_text("utf-8")) for p in calls_dir.glob("*/record.json")]
    live = [r for r in records if any(e["type"] == "answered" for e in r["events"])]
    assert len(live) == sum(1 for p in plan if p["type"] == "live_call") == 2
    for record in live:
        heard = " ".join(e["transcript"]["text"] for e in record["events"] if e["type"] == "agent_utterance")
        # the microphone loop starts wherever it happens to be when the call is answered
        assert re.search(r"工号|1035|还有什么可以帮您|感谢您的来电", heard), heard


def _assessor_creates_and_enrols(page, base: str) -> str:
    sign_in(page, base, "assessor", "assessor123")
    page.wait_for_load_state()
    page.goto(base + "/sittings/new")
    # the form takes local time in the configured zone (default Asia/Shanghai), as an assessor types it
    now = datetime.now(ZoneInfo("Asia/Shanghai")).replace(tzinfo=None)
    page.fill("input[name=name]", SITTING)
    page.select_option("select[name=level]", "5")
    page.fill("input[name=opens_at]", (now - timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("input[name=closes_at]", (now + timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M"))
    page.fill("input[name=access_code]", ACCESS_CODE)
    page.click("[data-testid=sitting-form] [type=submit]")
    page.wait_for_url(re.compile(r".*/sittings/\d+$"))
    url = page.url
    options = page.locator("[data-testid=enrol-form] select option")
    labels = [options.nth(i).text_content() for i in range(options.count())]
    page.select_option("[data-testid=enrol-form] select", label=next(t for t in labels if "trainee" in t))
    page.click("[data-testid=enrol-form] [type=submit]")
    page.wait_for_function("() => document.querySelector('[data-testid=candidates]').textContent.includes('trainee')")
    return url


def _trainee_sits_the_theory_paper(page, base: str, sitting_id: int, db_file: Path) -> None:
    sign_in(page, base, "trainee", "trainee123")
    page.wait_for_url(f"{base}/trainee")
    assert SITTING in page.text_content("main"), "the dashboard lists the upcoming sitting"
    page.goto(f"{base}/my/sittings/{sitting_id}")
    page.fill("input[name=code]", ACCESS_CODE)
    page.click("main form [type=submit]")
    page.click("[data-testid=start-theory]")
    page.wait_for_url(re.compile(r".*/theory/attempts/\d+$"))
    attempt_id = int(page.url.rsplit("/", 1)[-1])
    # The test stands in for a well-prepared candidate: it reads the key from the database.
    with sqlite3.connect(db_file) as con:
        paper = json.loads(con.execute("SELECT paper FROM exam_attempts WHERE id = ?", (attempt_id,)).fetchone()[0])
        key = {qid: json.loads(answer) for qid, answer in con.execute("SELECT id, answer FROM exam_questions")}
    for number, entry in enumerate(paper, start=1):
        question = page.locator(f"[data-testid=question-{number}]")
        for letter in key[entry["q"]]:
            # options are shown shuffled: the displayed letter of an original option is its place in `order`
            shown = chr(ord("A") + entry["order"].index(letter)) if entry.get("order") else letter
            question.locator(f".options input[value='{shown}']").check()
    page.wait_for_function("() => document.getElementById('save-state').textContent === '已保存'")
    assert page.text_content("[data-testid=answered-count]") == str(len(paper))
    page.click("[data-testid=open-submit]")
    page.click("[data-testid=confirm-submit]")
    page.wait_for_load_state()
    page.goto(f"{base}/my/sittings/{sitting_id}")
    assert "已交卷，成绩待发布" in page.text_content("main")


def _trainee_takes_the_practical_exam(page, base: str, sitting_id: int, db_file: Path) -> list[dict]:
    with sqlite3.connect(db_file) as con:
        plan = json.loads(con.execute("SELECT practical_plan FROM sitting_candidates WHERE sitting_id = ?",
                                      (sitting_id,)).fetchone()[0])
    assert sorted(p["type"] for p in plan) == ["live_call", "live_call", "recording_review"]
    checked = False
    for index, item in enumerate(plan):
        page.goto(f"{base}/my/sittings/{sitting_id}")
        page.click(f"[data-testid=start-practical-{index}]")
        if item["type"] == "live_call":
            if not checked:                 # the microphone check comes first, once per session
                page.wait_for_url(re.compile(r".*/practical/device\?next=.*"))
                pass_device_check(page)
                checked = True
            page.wait_for_url(re.compile(r".*/practical/calls/[0-9a-f-]+$"))
            _answer_a_call(page)
        else:
            page.wait_for_url(re.compile(r".*/practical/tasks/[0-9a-f-]+$"))
            path = next(LIBRARY_DIR.rglob(f"{item['scenario_id']}.yaml"))
            reference = yaml.safe_load(path.read_text("utf-8"))["reference_answers"][0]
            page.fill("[data-testid=answer-text]", reference["text"])
            page.click("[data-testid=submit]")
            page.wait_for_url(re.compile(r".*/result$"), timeout=60000)
        text = page.text_content("main")
        assert "成绩在考评员发布后" in text and "逐项评分" not in text, "no score before publishing"
    page.goto(f"{base}/my/sittings/{sitting_id}")
    assert page.locator("[data-testid^=start-practical-]").count() == 0, "every task submitted"
    return plan


def _answer_a_call(page) -> None:
    # The phone rings only once the microphone is live; the fake microphone plays its file from the
    # start when it is opened, and the file's lead-in covers the rings.
    assert page.text_content("[data-testid=rings]") == "", "no ringing before the microphone is on"
    page.click("[data-testid=mic-enable]")
    page.wait_for_selector("#mic-gate.ready", state="attached")
    page.wait_for_selector("[data-testid=answer]:not([disabled])", timeout=30000)
    page.click("[data-testid=answer]")
    page.wait_for_function("() => document.querySelector('[data-testid=call-state]').textContent === '通话中'")
    # Talk until the farewell has been said (or the caller has hung up), then end the call.
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=captions] li')].some(li => li.textContent.includes('再见'))"
        " || document.querySelector('[data-testid=call-state]').textContent === '话后处理'", timeout=120000)
    if page.text_content("[data-testid=call-state]") != "话后处理":
        page.click("[data-testid=hangup]")
    page.wait_for_function("() => document.querySelector('[data-testid=call-state]').textContent === '话后处理'")
    page.click("[data-testid=finish]")
    page.wait_for_url(re.compile(r".*/result$"), timeout=120000)


def _assessor_reviews_overrides_and_publishes(page, sitting_url: str) -> str:
    page.goto(sitting_url)
    page.get_by_role("link", name="评阅").first.click()
    page.wait_for_url(re.compile(r".*/candidates/\d+$"))
    review_url = page.url
    call = next(i for i in range(3) if page.locator(f"[data-testid=practical-item-{i}] audio").count())
    section = page.locator(f"[data-testid=practical-item-{call}]")
    assert section.locator("li.agent").count() >= 1 and section.locator("li.caller").count() >= 1
    # The assessor settles the item the recogniser was least sure of: the one flagged for review with the
    # most points at stake (in this flow usually the opening, where ASR heard 工号 as a near-homophone).
    rows = section.locator("tr.verdict-review form.override:has(input[name=points])")
    rows = rows if rows.count() else section.locator("form.override:has(input[name=points])")
    gaps = []
    for i in range(rows.count()):
        points = rows.nth(i).locator("input[name=points]")
        gaps.append((float(points.get_attribute("max")) - float(points.input_value()), i))
    gap, best = max(gaps)
    assert gap > 0, "a call that earned every point leaves nothing to override"
    target = rows.nth(best)
    reason = "回听录音：考生已说出规范用语，语音识别漏记，按录音给满分"
    item_id = target.locator("input[name=item_id]").input_value()
    top = target.locator("input[name=points]").get_attribute("max")
    target.locator("input[name=reason]").fill("")
    target.locator("button").click()                       # no reason: refused (400, the review page again)
    page.wait_for_load_state()
    assert "理由" in page.text_content("main")
    target = page.locator(f"[data-testid=practical-item-{call}] form.override:has(input[value='{item_id}'])")
    target.locator("input[name=points]").fill(top)
    target.locator("input[name=reason]").fill(reason)
    target.locator("button").click()
    page.wait_for_url(review_url)
    assert reason in page.text_content("[data-testid=audit-log]")
    assert "已修改" in page.text_content(f"[data-testid=practical-item-{call}]")
    page.goto(sitting_url)
    if page.locator("[data-testid=pending-reviews]").count():
        # items the engine could not settle are listed with links; this flow publishes on the engine's points
        page.check("[data-testid=pending-reviews] input[name=despite_pending]")
    page.click("[data-testid=publish]")
    page.wait_for_function("() => document.querySelector('[data-testid=candidates]').textContent.includes('合格')")
    return reason


def _trainee_gets_the_result_and_the_certificate(page, base: str, sitting_id: int) -> None:
    page.goto(f"{base}/my/sittings/{sitting_id}")
    result = page.text_content("[data-testid=published-result]")
    theory, practical = (float(x) for x in re.findall(r"\d+\.\d", result)[:2])
    assert theory >= 60 and practical >= 60, result
    assert page.text_content("[data-testid=verdict]") == "合格"
    report = page.request.get(base + page.get_attribute("[data-testid=report-link]", "href"))
    assert report.status == 200 and report.body().startswith(b"%PDF")
    page.get_by_role("link", name="证书查验页").click()
    page.wait_for_url(re.compile(r".*/verify/HJ\w+$"))
    text = page.text_content("[data-testid=verify]")
    assert "证书有效" in text and "演示学员" in text and "五级" in text
