"""Real-browser tests: the real server (run.py under waitress) and Debian's Chromium via Playwright."""
# The app sends a Content-Security-Policy without unsafe-eval: page predicates are written as functions
# ("() => ..."), which Playwright calls directly, rather than expressions it would have to eval.
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

PROJECT_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
# Chromium must not reach out to the network at start (this machine has none, and tests must not).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


def fake_microphone_file(tmp: Path, script: list, name: str = "mic.wav") -> Path:
    """A WAV for Chromium's fake microphone: ``script`` items are seconds of quiet (numbers) or sentences
    spoken in the product's caller voice (strings). Chromium loops the file."""
    import wave

    import numpy as np

    from softphone_sim.render import render_line

    parts = []
    for item in script:
        if isinstance(item, str):
            line = render_line(item, persona="calm", cache_dir=tmp / "voice")
            with wave.open(str(line.path)) as w:
                parts.append(np.frombuffer(w.readframes(w.getnframes()), dtype="<i2"))
        else:
            parts.append(np.zeros(int(16000 * item), "<i2"))
    out = tmp / name
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(np.concatenate(parts).tobytes())
    return out


def launch_with_fake_microphone(browser, wav: Path):
    """A second Chromium from the session's Playwright whose microphone plays ``wav``."""
    return browser.browser_type.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS + [
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-audio-capture={wav}", "--autoplay-policy=no-user-gesture-required"])


FIXTURES = PROJECT_ROOT / "tests" / "data" / "scenarios"


def sync_fixture_scenarios(db_url: str) -> None:
    """Load the test scenarios of tests/data/scenarios into the server's database."""
    from simulator import config, create_app
    from simulator.practical.library import sync_library

    app = create_app({**config.from_env(Path("/tmp"), env={"SECRET_KEY": "x"}), "SQLALCHEMY_DATABASE_URI": db_url})
    with app.app_context():
        assert sync_library(FIXTURES)["rejected"] == 0


def chromium_path() -> str:
    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("Chromium is not installed: run ./test.sh, which installs Debian's chromium")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(tmp_dir: Path, extra_env: dict | None = None) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = dict(os.environ, PORT=str(port), HOST="127.0.0.1", SECRET_KEY="browser-test-secret",
               DATABASE_URL=f"sqlite:///{tmp_dir / 'browser.sqlite3'}", **(extra_env or {}))
    log = open(tmp_dir / "server.log", "w")
    proc = subprocess.Popen([sys.executable, "run.py"], cwd=PROJECT_ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {(tmp_dir / 'server.log').read_text()}")
        try:
            if requests.get(base + "/healthz", timeout=2).status_code == 200:
                return proc, base
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server did not start: {(tmp_dir / 'server.log').read_text()}")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    proc, base = start_server(tmp_path_factory.mktemp("live"))
    yield base
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    context.close()


# Seeded demo accounts must change their published password at first login; the new one is kept here
# per server, so later sign-ins on the same server use it.
CHANGED_PASSWORDS: dict[tuple[str, str], str] = {}


def sign_in(page, base: str, username: str, password: str) -> None:
    password = CHANGED_PASSWORDS.get((base, username), password)
    page.goto(base + "/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    with page.expect_navigation():
        page.click("input[type=submit]")
    if page.url.startswith(base + "/account/password"):
        new = "Changed-Pw-2026!"
        page.fill("input[name=current]", password)
        page.fill("input[name=new]", new)
        page.fill("input[name=confirm]", new)
        with page.expect_navigation():
            page.click("input[type=submit]")
        CHANGED_PASSWORDS[(base, username)] = new


def pass_device_check(page, attempts: int = 6) -> str:
    """On the microphone check page (the call page sends a trainee there first): allow the microphone,
    see its level move, record the test sentence until the server recognises it, go on to the call.
    A real trainee repeats the sentence when it was not recognised; so does this helper, because the
    fake microphone loops its file and a 3 s window may fall on its quiet part."""
    import re as _re

    page.wait_for_url(_re.compile(r".*/practical/device\?next=.*"))
    page.click("[data-testid=device-allow]")
    page.wait_for_function("() => document.querySelector('[data-testid=device-permission]')"
                           ".textContent.includes('已允许')")
    for _ in range(attempts):
        page.wait_for_selector("[data-testid=device-record]:not([disabled])")
        page.click("[data-testid=device-record]")
        page.wait_for_function("() => document.getElementById('device-check').dataset.passed === '1'"
                               " || document.querySelector('[data-testid=device-error]').textContent.length > 0",
                               timeout=90000)
        if page.get_attribute("#device-check", "data-passed") == "1":
            break
    page.wait_for_function("() => document.getElementById('device-check').dataset.levelSeen === '1'")
    text = page.text_content("[data-testid=device-text]")
    assert text, page.text_content("[data-testid=device-error]")
    page.click("[data-testid=device-continue]")
    page.wait_for_url(_re.compile(r".*/practical/calls/[0-9a-f-]+$"))
    return text
