"""Theory exam engine: assembly, scoring, attempts (autosave, deadline, resume), on a generated bank."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from exams import assemble, bank_io, load_blueprints, models, score_item
from exams import attempts as exam
from exams.analysis import analyse
from exams.assembly import Candidate, PaperError, assemble_practice
from exams.models import Attempt, AttemptAnswer, BankQuestion
from exams.scoring import summarize
from simulator.extensions import db
from tests.bank_factory import generate, write_bank


@pytest.fixture(scope="session")
def bank_dir(tmp_path_factory):
    return write_bank(tmp_path_factory.mktemp("bank"), extra=2)


@pytest.fixture
def bank(app, bank_dir):
    report = bank_io.sync_from_files(db.session, bank_dir)
    assert report.added and not report.updated
    return bank_dir


@pytest.fixture
def trainee(users):
    from simulator.auth.models import Role
    return users[Role.TRAINEE]


def _pool():
    return [Candidate(q["id"], area, q["level"], q["type"], tuple(sorted(q.get("options", {}))))
            for area, qs in generate(extra=2).items() for q in qs]


# ---- assembly --------------------------------------------------------------------------------

@pytest.mark.parametrize("level", [5, 4, 3])
def test_paper_fulfils_the_blueprint(level):
    blueprint = load_blueprints()[level]
    paper = assemble(_pool(), blueprint, seed=11)
    assert len(paper) == blueprint.total_questions == 100
    assert sum(i.points for i in paper) == 100
    assert len({i.question_id for i in paper}) == len(paper)
    drawn = Counter((i.area, i.qtype) for i in paper)
    assert drawn == Counter({(a, t): n for a, t, n in blueprint.cells()})
    levels = {int(i.question_id.split("-")[1]) for i in paper}
    assert levels <= set(blueprint.level_weights)
    # sections in the national paper's order: true/false, single, multiple
    order = [i.qtype for i in paper]
    assert order == sorted(order, key=["judge", "single", "multiple"].index)


def test_same_seed_same_paper_other_seed_other_paper():
    blueprint = load_blueprints()[4]
    a, b = assemble(_pool(), blueprint, 5), assemble(list(reversed(_pool())), blueprint, 5)
    assert a == b   # also independent of the order the pool arrives in
    c = assemble(_pool(), blueprint, 6)
    overlap = len({i.question_id for i in a} & {i.question_id for i in c})
    assert overlap < 80
    assert [i.order for i in a] == [i.order for i in b]
    assert any(i.order != tuple(sorted(i.order)) for i in a if i.qtype != "judge")   # options shuffled


def test_higher_levels_draw_lower_levels_but_lean_on_their_own():
    blueprint = load_blueprints()[3]
    counts = Counter()
    for seed in range(30):
        counts.update(int(i.question_id.split("-")[1]) for i in assemble(_pool(), blueprint, seed))
    assert counts[5] > 0 and counts[4] > 0
    assert counts[3] > counts[4] and counts[3] > counts[5]


def test_too_small_pool_is_a_clear_error():
    pool = [c for c in _pool() if not (c.area == "taboo" and c.qtype == "judge")]
    with pytest.raises(PaperError, match="taboo/judge"):
        assemble(pool, load_blueprints()[5], 1)


def test_practice_set_is_one_area_and_worth_100():
    paper = assemble_practice(_pool(), load_blueprints()[4], 3, count=20, area="kpi")
    assert len(paper) == 20 and {i.area for i in paper} == {"kpi"}
    assert abs(sum(i.points for i in paper) - 100) < 0.01


# ---- scoring ---------------------------------------------------------------------------------

def test_item_scoring_rules():
    assert score_item("single", ["B"], ["B"], 1).earned == 1
    assert score_item("single", ["B"], ["C"], 1).earned == 0
    assert score_item("judge", ["F"], ["F"], 1).correct
    assert score_item("multiple", ["A", "C"], ["A", "C"], 1).earned == 1
    assert score_item("multiple", ["A", "C"], ["A"], 1).earned == 0          # all or nothing
    assert score_item("multiple", ["A", "C"], ["A"], 1, "partial").earned == 0.5
    assert score_item("multiple", ["A", "C"], ["A", "D"], 1, "partial").earned == 0
    assert score_item("single", ["B"], [], 1).earned == 0


def test_sixty_passes_fifty_nine_fails():
    right, wrong = score_item("single", ["A"], ["A"], 1), score_item("single", ["A"], ["B"], 1)
    sixty = summarize([("kpi", 1, right)] * 60 + [("crm", 1, wrong)] * 40, 60)
    assert sixty["score"] == 60 and sixty["passed"]
    assert sixty["breakdown"]["kpi"] == {"earned": 60, "possible": 60, "correct": 60, "total": 60}
    fifty_nine = summarize([("kpi", 1, right)] * 59 + [("crm", 1, wrong)] * 41, 60)
    assert not fifty_nine["passed"]


def test_item_analysis_flags_negative_discrimination():
    responses = []
    for attempt in range(20):
        total = attempt * 5
        responses.append((attempt, total, "good", attempt >= 10))      # strong candidates right
        responses.append((attempt, total, "bad", attempt < 10))        # strong candidates wrong
    stats = analyse(responses)
    assert stats["good"].discrimination > 0.9 and not any("负" in f for f in stats["good"].flags)
    assert stats["bad"].discrimination < 0 and any("负区分度" in f for f in stats["bad"].flags)
    assert stats["good"].facility == 0.5


# ---- attempts --------------------------------------------------------------------------------

def _key_in_displayed_letters(attempt: Attempt, position: int) -> list[str]:
    item = exam.items(attempt)[position]
    key = db.session.get(BankQuestion, item.question_id).answer
    if item.qtype == "judge":
        return list(key)
    return sorted(chr(ord("A") + item.order.index(letter)) for letter in key)


def test_start_stores_the_paper_and_a_second_start_resumes_it(bank, trainee):
    attempt = exam.start_attempt(db.session, trainee.id, mode="mock", level=5)
    assert len(attempt.paper) == 100 and len(attempt.answers) == 100
    assert attempt.time_limit_minutes == 60 and attempt.deadline is not None
    again = exam.start_attempt(db.session, trainee.id, mode="mock", level=5)
    assert again.id == attempt.id
    assert db.session.query(Attempt).count() == 1


def test_answers_map_displayed_letters_to_the_bank_and_stale_saves_lose(bank, trainee):
    attempt = exam.start_attempt(db.session, trainee.id, mode="mock", level=4)
    position = next(i for i, item in enumerate(exam.items(attempt)) if item.qtype == "single")
    item = exam.items(attempt)[position]
    saved = exam.save_answer(attempt, position, ["B"], base=0)
    assert saved["revision"] == 1 and saved["response"] == ["B"]
    row = db.session.query(AttemptAnswer).filter_by(attempt_id=attempt.id, position=position).one()
    assert row.response == [item.order[1]]
    with pytest.raises(exam.StaleAnswer) as stale:     # written from a view that never saw "B"
        exam.save_answer(attempt, position, ["C"], base=0)
    assert stale.value.current == {"position": position, "response": ["B"], "flagged": False, "revision": 1}
    db.session.refresh(row)
    assert row.response == [item.order[1]] and row.revision == 1
    assert exam.save_answer(attempt, position, ["B"], base=0)["revision"] == 1   # a resend is acknowledged
    assert exam.save_answer(attempt, position, ["C"], base=1)["revision"] == 2
    with pytest.raises(exam.InvalidAnswer):
        exam.save_answer(attempt, position, ["A", "B"], base=2)
    with pytest.raises(exam.InvalidAnswer):
        exam.save_answer(attempt, position, ["Z"], base=2)
    with pytest.raises(exam.InvalidAnswer):
        exam.save_answer(attempt, 100, ["A"], base=2)


def test_full_marks_and_breakdown(bank, trainee):
    attempt = exam.start_attempt(db.session, trainee.id, mode="mock", level=3)
    for position in range(len(attempt.paper)):
        exam.save_answer(attempt, position, _key_in_displayed_letters(attempt, position))
    exam.submit(attempt)
    assert attempt.score == 100 and attempt.passed and attempt.submit_reason == "candidate"
    blueprint = load_blueprints()[3]
    assert {a: c["total"] for a, c in attempt.breakdown.items()} == {
        a: sum(per.values()) for a, per in blueprint.counts.items()}
    assert attempt.active_key is None
    with pytest.raises(exam.AttemptClosed):
        exam.save_answer(attempt, 0, ["A"])
    first_time = attempt.submitted_at
    exam.submit(attempt)                                   # double submit: first one stands
    assert attempt.submitted_at == first_time


def test_sixty_correct_answers_pass(bank, trainee):
    attempt = exam.start_attempt(db.session, trainee.id, mode="mock", level=5)
    for position in range(60):
        exam.save_answer(attempt, position, _key_in_displayed_letters(attempt, position))
    exam.submit(attempt)
    assert attempt.score == 60 and attempt.passed


def test_deadline_submits_even_without_the_browser(bank, trainee, monkeypatch):
    attempt = exam.start_attempt(db.session, trainee.id, mode="mock", level=5)
    exam.save_answer(attempt, 0, _key_in_displayed_letters(attempt, 0))
    late = attempt.deadline + exam.GRACE + timedelta(seconds=1)
    monkeypatch.setattr(models, "utcnow", lambda: late)
    assert exam.finalize_overdue(db.session) == 1
    db.session.refresh(attempt)
    assert attempt.status == "submitted" and attempt.submit_reason == "deadline"
    assert attempt.submitted_at == attempt.deadline and attempt.score == 1


def test_answer_inside_the_grace_period_counts_after_it_is_refused(bank, trainee, monkeypatch):
    attempt = exam.start_attempt(db.session, trainee.id, mode="mock", level=5)
    monkeypatch.setattr(models, "utcnow", lambda: attempt.deadline + timedelta(seconds=5))
    exam.save_answer(attempt, 0, _key_in_displayed_letters(attempt, 0))
    monkeypatch.setattr(models, "utcnow", lambda: attempt.deadline + exam.GRACE + timedelta(seconds=1))
    with pytest.raises(exam.AttemptClosed):
        exam.save_answer(attempt, 1, _key_in_displayed_letters(attempt, 1))
    assert attempt.status == "submitted" and attempt.score == 1


def test_extra_time_moves_the_deadline(bank, trainee):
    attempt = exam.start_attempt(db.session, trainee.id, mode="mock", level=5)
    before = attempt.deadline
    attempt.extra_minutes = 10
    assert attempt.deadline - before == timedelta(minutes=10)


def test_retired_questions_are_not_drawn(bank, trainee):
    for row in db.session.query(BankQuestion).filter(BankQuestion.area == "kpi", BankQuestion.level == 5,
                                                     BankQuestion.qtype == "single").limit(3):
        row.retired = True
    db.session.commit()
    retired = {r.id for r in db.session.query(BankQuestion).filter_by(retired=True)}
    attempt = exam.start_attempt(db.session, trainee.id, mode="mock", level=5, seed=1)
    assert not retired & {d["q"] for d in attempt.paper}


def test_practice_immediate_feedback_locks_the_answer(bank, trainee):
    attempt = exam.start_attempt(db.session, trainee.id, mode="practice", level=5, area="etiquette", count=10,
                                 timed=False, feedback="immediate")
    assert attempt.deadline is None and {d["area"] for d in attempt.paper} == {"etiquette"}
    with pytest.raises(exam.InvalidAnswer):
        exam.check_item(attempt, 0)                         # nothing answered yet
    exam.save_answer(attempt, 0, _key_in_displayed_letters(attempt, 0))
    feedback = exam.check_item(attempt, 0)
    assert feedback["correct"] and feedback["explanation"].startswith("解析")
    with pytest.raises(exam.InvalidAnswer):
        exam.save_answer(attempt, 0, ["A"])


def test_mock_paper_offers_no_feedback_before_submission(bank, trainee):
    attempt = exam.start_attempt(db.session, trainee.id, mode="mock", level=5)
    exam.save_answer(attempt, 0, ["T"] if exam.items(attempt)[0].qtype == "judge" else ["A"])
    with pytest.raises(exam.ExamError):
        exam.check_item(attempt, 0)
    with pytest.raises(exam.ExamError):
        exam.review(attempt)
    view = exam.paper_for_candidate(attempt)
    assert all("feedback" not in entry for entry in view)


def test_certification_results_wait_for_release(bank, trainee):
    attempt = exam.start_attempt(db.session, trainee.id, mode="certification", level=5, sitting_id=42)
    assert not attempt.released
    exam.submit(attempt)
    with pytest.raises(exam.ExamError):
        exam.review(attempt)
    attempt.released = True
    assert len(exam.review(attempt)) == 100


def test_seeding_keeps_a_trainers_edit(bank, trainee):
    row = db.session.get(BankQuestion, "kpi-5-001")
    row.explanation, row.edited_by_id = "培训师修改过的解析。", trainee.id
    db.session.commit()
    report = bank_io.sync_from_files(db.session, bank)
    assert "kpi-5-001" in report.kept_edited
    assert db.session.get(BankQuestion, "kpi-5-001").explanation == "培训师修改过的解析。"


# ---- command line ----------------------------------------------------------------------------

def test_python_m_exams_paper_prints_composition_without_answers(bank_dir):
    import json
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "exams", "paper", "--level", "4", "--seed", "9", "--json",
                          "--bank", str(bank_dir)], capture_output=True, text=True, check=True).stdout
    paper = json.loads(out)
    assert paper["total_points"] == 100 and paper["questions"] == 100 and paper["time_limit_minutes"] == 60
    blueprint = load_blueprints()[4]
    assert paper["per_area"] == {a: {t: n for t, n in per.items() if n} for a, per in blueprint.counts.items()}
    assert "answer" not in out and "explanation" not in out
    again = subprocess.run([sys.executable, "-m", "exams", "paper", "--level", "4", "--seed", "9", "--json",
                            "--bank", str(bank_dir)], capture_output=True, text=True, check=True).stdout
    assert json.loads(again)["question_ids"] == paper["question_ids"]


def test_validate_cli_reports_each_problem_with_its_place(tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "kpi.yaml"
    bad.write_text(yaml_dump({"area": "kpi", "questions": [
        {"id": "kpi-5-001", "level": 5, "type": "single", "difficulty": 1, "stem": "接通率的含义是（　　）。",
         "options": {"A": "甲", "B": "乙", "C": "丙", "D": "以上都对"}, "answer": "E",
         "explanation": "", "source": "nowhere.txt"}]}), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "exams", "validate", str(bad), "--no-pool"],
                         capture_output=True, text=True)
    assert run.returncode == 1
    for fragment in ("kpi-5-001", "兜底选项", "答案：「E」 不在选项之中", "解析：缺失或过短（至少 6 个字）",
                     "依据：必须是以下文献之一"):
        assert fragment in run.stdout


def yaml_dump(data) -> str:
    import yaml
    return yaml.safe_dump(data, allow_unicode=True)


def test_flask_bank_commands(app, bank_dir, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["bank", "import", str(bank_dir)])
    assert result.exit_code == 0 and "added" in result.output
    assert db.session.query(BankQuestion).count() == sum(len(v) for v in generate(extra=2).values())
    result = runner.invoke(args=["bank", "stats"])
    assert result.exit_code == 0 and f"total {db.session.query(BankQuestion).count()}" in result.output
    out = tmp_path / "export.xlsx"
    assert runner.invoke(args=["bank", "export", str(out)]).exit_code == 0 and out.stat().st_size > 0
    folder = tmp_path / "exported"
    assert runner.invoke(args=["bank", "export", str(folder)]).exit_code == 0
    assert runner.invoke(args=["bank", "validate", str(folder)]).exit_code == 0
    broken = tmp_path / "broken.xlsx"
    from openpyxl import Workbook
    wb = Workbook()
    wb.active.append(["编号", "题干"])
    wb.save(broken)
    result = runner.invoke(args=["bank", "import", str(broken)])
    assert result.exit_code != 0 and "nothing was imported" in result.output
    assert runner.invoke(args=["sweep"]).exit_code == 0


def test_bank_messages_name_the_field_and_show_values_without_python_reprs():
    from exams.question_bank import Problem, parse_question
    problems: list[Problem] = []
    parse_question({"id": "kpi-5-002", "level": 7, "type": "single", "difficulty": None, "stem": "短",
                    "options": {"A": "甲", "B": "乙"}, "answer": ["A"], "explanation": "短", "source": None},
                   "kpi", "第2行", problems)
    messages = [p.message for p in problems]
    assert any(m.startswith("等级：") and "「" not in m and "7" in m for m in messages)
    assert any(m.startswith("选项：") and "「A」、「B」" in m for m in messages), messages
    assert any(m.startswith("题干：") and "至少 6 个字" in m for m in messages)
    for message in messages:
        assert not any(token in message for token in ("['", "']", "None", "{'")), message
