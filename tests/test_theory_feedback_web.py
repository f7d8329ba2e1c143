"""Practice feedback and result pages through the web API: 判断 results spelled out as choice, key and
mark, the palette marking wrong answers after feedback, sources by title."""
from __future__ import annotations

import html
import re

import pytest

from exams import bank_io
from exams.models import Attempt, BankQuestion
from simulator.auth.models import Role
from simulator.extensions import db
from tests.bank_factory import write_bank
from tests.helpers import META_CSRF, post_json, signed_in, start_mock, submit

JUDGE = {"T": "正确", "F": "错误"}


@pytest.fixture
def bank(app, tmp_path):
    return bank_io.sync_from_files(db.session, write_bank(tmp_path / "bank", extra=2))


def _paper(app) -> tuple[list[dict], dict[str, list[str]]]:
    with app.app_context():
        attempt = db.session.query(Attempt).one()
        keys = dict(db.session.query(BankQuestion.id, BankQuestion.answer))
        return attempt.paper, keys


def _palette_classes(page: str, position: int) -> set[str]:
    tag = re.search(rf'<a [^>]*id="pal-{position}"[^>]*>', page).group(0)
    return set(re.search(r'class="([^"]*)"', tag).group(1).split())


def test_practice_feedback_spells_out_choice_key_and_mark_and_the_palette_marks_wrong(app, bank, users):
    client = signed_in(app, users[Role.TRAINEE])
    resp = submit(client, "/theory/start/practice", {"level": "5", "area": "etiquette", "count": "30",
                                                     "feedback": "immediate"}, form_url="/theory/")
    url = resp.headers["Location"]
    token = META_CSRF.search(client.get(url).get_data(as_text=True)).group(1)
    paper, keys = _paper(app)
    judges = [i for i, d in enumerate(paper) if d["type"] == "judge"]
    wrong, right = judges[0], judges[1]
    key_wrong, key_right = keys[paper[wrong]["q"]][0], keys[paper[right]["q"]][0]
    chosen = "F" if key_wrong == "T" else "T"
    assert post_json(client, url + "/answer", {"position": wrong, "response": [chosen]}, token).status_code == 200
    assert post_json(client, url + "/answer", {"position": right, "response": [key_right]}, token).status_code == 200

    feedback = post_json(client, url + "/check", {"position": wrong}, token).json["feedback"]
    assert feedback["summary"] == f"你选：{JUDGE[chosen]} · 答案：{JUDGE[key_wrong]} · ✗"
    assert feedback["correct"] is False and feedback["source"].startswith("《")
    ok = post_json(client, url + "/check", {"position": right}, token).json["feedback"]
    assert ok["summary"] == f"你选：{JUDGE[key_right]} · 答案：{JUDGE[key_right]} · ✓"

    page = client.get(url).get_data(as_text=True)
    assert "wrong" in _palette_classes(page, wrong)
    assert "wrong" not in _palette_classes(page, right)
    assert 'data-testid="legend-wrong">答错<' in page
    assert html.escape(feedback["summary"]) in page or feedback["summary"] in page
    unchecked = next(i for i in range(len(paper)) if i not in (wrong, right))
    assert "wrong" not in _palette_classes(page, unchecked)


def test_a_mock_paper_has_no_wrong_marks_while_open_and_its_result_is_unambiguous(app, bank, users):
    client = signed_in(app, users[Role.TRAINEE])
    url, page, token = start_mock(client)
    body = page.get_data(as_text=True)
    assert "legend-wrong" not in body and "你选" not in body        # closed book: no feedback before the end
    paper, keys = _paper(app)
    position = next(i for i, d in enumerate(paper) if d["type"] == "judge")
    key = keys[paper[position]["q"]][0]
    chosen = "F" if key == "T" else "T"
    assert post_json(client, url + "/answer", {"position": position, "response": [chosen]}, token).status_code == 200
    assert client.post(url + "/submit", data={"csrf_token": token}).status_code == 302
    result = client.get(url + "/result").get_data(as_text=True)
    assert f"你选：{JUDGE[chosen]} · 答案：{JUDGE[key]} · ✗" in result
    assert "你选：未作答 · 答案：" in result                     # the unanswered ones say so
    assert ".txt" not in result
