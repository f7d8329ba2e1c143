"""A practical call in Chromium with a fake microphone playing a synthesised answer: answer the ring,
speak, hold and unhold, fill the work order, hang up, submit; the stored call record holds all of it."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from .conftest import (
    fake_microphone_file,
    launch_with_fake_microphone,
    pass_device_check,
    sign_in,
    start_server,
    sync_fixture_scenarios,
)

pytestmark = pytest.mark.browser


def answer_wav(tmp: Path) -> Path:
    """The trainee's opening, then four seconds of quiet (Chromium loops the file)."""
    return fake_microphone_file(tmp, [0.5, "您好，工号1035，很高兴为您服务。", 4], "answer.wav")


def test_a_practical_call_with_a_fake_microphone(tmp_path, browser):
    calls_dir = tmp_path / "calls"
    proc, base = start_server(tmp_path, {"CALLS_DIR": str(calls_dir)})
    try:
        sync_fixture_scenarios(f"sqlite:///{tmp_path / 'browser.sqlite3'}")
        wav = answer_wav(tmp_path)
        # A second Chromium from the session's Playwright, with the fake microphone playing the answer.
        fake_mic = launch_with_fake_microphone(browser, wav)
        context = fake_mic.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        context.grant_permissions(["microphone"], origin=base)
        page = context.new_page()
        page.set_default_timeout(20000)
        console = []
        page.on("console", lambda msg: console.append(msg.text))
        page.on("pageerror", lambda exc: console.append(str(exc)))
        try:
            _take_the_call(page, base)
        except Exception:
            print("browser console:", console, "page:", page.url)
            raise
        finally:
            page.screenshot(path=str(tmp_path / "softphone.png"), full_page=True)
            fake_mic.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)

    records = list(calls_dir.glob("*/record.json"))
    assert len(records) == 1
    record = json.loads(records[0].read_text("utf-8"))
    types = [e["type"] for e in record["events"]]
    assert types[:2] == ["queued", "ivr"] and "answered" in types
    spoken = [e for e in record["events"] if e["type"] == "agent_utterance"]
    assert spoken and any(re.search(r"您好|1035|服务", e["transcript"]["text"]) for e in spoken)
    assert all((records[0].parent / e["audio"]).is_file() for e in spoken)
    holds = [e["on"] for e in record["events"] if e["type"] == "hold"]
    assert holds[:2] == [True, False]
    orders = [e for e in record["events"] if e["type"] == "work_order"]
    assert orders and orders[-1]["valid"] and record["work_order"]["contact"] == "13812345678"
    assert record["ended_by"] in ("agent", "caller") and types[-1] == "wrapup_end"
    assert (records[0].parent / "grade.json").is_file() and (records[0].parent / "recording.wav").is_file()


def _take_the_call(page, base: str) -> None:
    sign_in(page, base, "trainee", "trainee123")
    page.wait_for_url(f"{base}/trainee")
    page.get_by_role("link", name="操作技能练习", exact=True).click()
    page.click("[data-testid=start-test-runtime-lookup]")
    pass_device_check(page)
    assert "工号" in page.text_content("[data-testid=brief]")
    page.click("[data-testid=mic-enable]")
    page.wait_for_selector("#mic-gate.ready", state="attached")
    page.wait_for_selector("[data-testid=answer]:not([disabled])", timeout=30000)
    assert re.search(r"振铃 \d 声", page.text_content("[data-testid=rings]"))
    page.click("[data-testid=answer]")
    page.wait_for_function("() => document.querySelector('[data-testid=call-state]').textContent === '通话中'")
    page.wait_for_function("() => document.querySelectorAll('[data-testid=captions] li').length >= 1", timeout=60000)
    assert re.search(r"王建国", page.text_content("[data-testid=cti]"))
    page.click("[data-testid=hold]")
    page.wait_for_function("() => document.querySelector('[data-testid=call-state]').textContent === '保持中'")
    page.wait_for_timeout(1500)
    page.click("[data-testid=unhold]")
    page.wait_for_function("() => document.querySelector('[data-testid=call-state]').textContent === '通话中'")
    page.select_option("#wo-type", "查询")
    page.fill("#wo-summary", "客户查询本月话费，已告知结果")
    page.fill("#wo-contact", "13812345678")
    page.select_option("#wo-wrapup", "resolved")
    page.click("[data-testid=save-work-order]")
    page.wait_for_function("() => document.getElementById('wo-state').textContent === '工单已保存'")
    if page.text_content("[data-testid=call-state]") != "话后处理":
        page.click("[data-testid=hangup]")
    page.wait_for_function("() => document.querySelector('[data-testid=call-state]').textContent === '话后处理'")
    page.click("[data-testid=finish]")
    page.wait_for_url(re.compile(r".*/result$"), timeout=120000)
    assert re.match(r"\d+\.\d", page.text_content("[data-testid=score]"))
    # the scenario's four items, and the service attitude every live call is judged on
    assert page.locator("[data-testid=rubric-items] tbody tr").count() == 5
    assert "服务态度" in page.text_content("[data-testid=rubric-items]")
    assert page.locator("[data-testid=transcript] li.agent").count() >= 1


def test_a_refused_microphone_gets_a_clear_message(tmp_path, browser):
    proc, base = start_server(tmp_path, {"CALLS_DIR": str(tmp_path / "calls")})
    try:
        sync_fixture_scenarios(f"sqlite:///{tmp_path / 'browser.sqlite3'}")
        context = browser.new_context(locale="zh-CN")      # no microphone permission granted
        page = context.new_page()
        page.set_default_timeout(20000)
        sign_in(page, base, "trainee", "trainee123")
        page.wait_for_url(f"{base}/trainee")
        page.goto(base + "/practical/")
        page.click("[data-testid=start-test-runtime-lookup]")
        page.wait_for_url(re.compile(r".*/practical/device\?next=.*"))
        assert "麦克风" in page.text_content("main") and "评分" in page.text_content("main")
        page.click("[data-testid=device-allow]")
        page.wait_for_function("() => document.querySelector('[data-testid=device-permission]').textContent.length > 0")
        message = page.text_content("[data-testid=device-permission]")
        assert "麦克风" in message and ("允许" in message or "没有检测到" in message) and "已允许" not in message
        assert page.is_disabled("[data-testid=device-record]"), "no test without a microphone"
        assert page.is_hidden("[data-testid=device-continue]"), "no way on to the call"
        call = page.url.split("next=")[1]
        page.goto(base + call)
        page.wait_for_url(re.compile(r".*/practical/device\?next=.*"))     # the call page sends it back
        context.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)
