"""Enemy groups (items on one fact never share a paper) and the blueprint's difficulty mix, in the pure
assembly and on papers drawn from the database."""
from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest
import yaml

from exams import attempts as exam
from exams import bank_io, load_blueprints
from exams.assembly import Candidate, PaperError, assemble, assemble_practice, difficulty_quotas
from exams.models import BankQuestion
from simulator.auth.models import Role
from simulator.extensions import db
from tests.bank_factory import generate, write_bank
from tests.conftest import PASSWORD
from tests.helpers import login

SEEDS = range(300)


def _pool(extra: int = 2) -> list[Candidate]:
    return [Candidate(q["id"], area, q["level"], q["type"], tuple(sorted(q.get("options", {}))),
                      difficulty=q["difficulty"]) for area, qs in generate(extra).items() for q in qs]


def _grouped(pool: list[Candidate], size: int) -> tuple[list[Candidate], dict[str, str]]:
    """Every run of ``size`` items (sorted by id, so a group spans types of one area) made one group."""
    ordered = sorted(pool, key=lambda c: c.id)
    groups = {c.id: f"g{i // size}" for i, c in enumerate(ordered)}
    return [replace(c, group=groups[c.id]) for c in pool], groups


@pytest.mark.parametrize("level", [5, 4, 3])
def test_a_paper_never_holds_two_items_of_a_group_and_keeps_its_cells(level):
    blueprint = load_blueprints()[level]
    pool, groups = _grouped(_pool(), 3)
    spans = Counter(frozenset(c.qtype for c in pool if c.group == g) for g in set(groups.values()))
    assert any(len(types) > 1 for types in spans)          # groups across types: the check is paper-wide
    for seed in SEEDS:
        paper = assemble(pool, blueprint, seed)
        on_paper = Counter(groups[item.question_id] for item in paper)
        assert max(on_paper.values()) == 1, seed
        assert Counter((i.area, i.qtype) for i in paper) == {(a, t): n for a, t, n in blueprint.cells()}


def test_without_groups_the_draw_is_unchanged_and_groups_change_it():
    blueprint = load_blueprints()[5]
    plain = _pool()
    grouped, _ = _grouped(plain, 2)
    def ids(pool, seed):
        return [i.question_id for i in assemble(pool, blueprint, seed)]

    assert ids(plain, 9) == ids(plain, 9)
    assert any(ids(plain, s) != ids(grouped, s) for s in range(5))


def test_a_cell_that_groups_make_impossible_is_an_error_not_a_short_paper():
    blueprint = load_blueprints()[5]
    pool = _pool(extra=0)
    cell = [c for c in pool if (c.area, c.qtype, c.level) == ("etiquette", "single", 5)]
    need = blueprint.counts["etiquette"]["single"]
    # The cell's items in need - 1 groups: at most need - 1 of them fit on one paper.
    groups = {c.id: f"g{i % (need - 1)}" for i, c in enumerate(cell)}
    pool = [replace(c, group=groups.get(c.id)) for c in pool]
    with pytest.raises(PaperError, match="enemy group"):
        assemble(pool, blueprint, 1)


def test_practice_sets_honour_groups_too():
    blueprint = load_blueprints()[5]
    pool, groups = _grouped(_pool(), 2)
    for seed in range(100):
        chosen = assemble_practice(pool, blueprint, seed, count=20, area="etiquette")
        assert len(chosen) == 20 and max(Counter(groups[i.question_id] for i in chosen).values()) == 1


def test_difficulty_quotas_split_by_largest_remainder():
    assert difficulty_quotas(9, {1: 0.3, 2: 0.5, 3: 0.2}) == {1: 3, 2: 4, 3: 2}
    assert difficulty_quotas(2, {1: 0.3, 2: 0.5, 3: 0.2}) == {1: 1, 2: 1, 3: 0}
    assert sum(difficulty_quotas(7, {1: 0.25, 2: 0.5, 3: 0.25}).values()) == 7


def test_the_difficulty_mix_is_met_when_the_cell_can_and_never_shortens_a_paper():
    mix = {1: 0.3, 2: 0.5, 3: 0.2}
    blueprint = replace(load_blueprints()[5], difficulty_mix=mix)
    pool = _pool()
    have = Counter((c.area, c.qtype, c.difficulty) for c in pool if c.level == 5)
    for seed in range(50):
        paper = assemble(pool, blueprint, seed)
        by_id = {c.id: c for c in pool}
        got = Counter((i.area, i.qtype, by_id[i.question_id].difficulty) for i in paper)
        for area, qtype, count in blueprint.cells():
            quotas = difficulty_quotas(count, mix)
            if all(have[(area, qtype, d)] >= n for d, n in quotas.items()):
                assert {d: got[(area, qtype, d)] for d in quotas} == quotas
    # No item of difficulty 3 at all: every cell is still filled, from the other difficulties.
    easy = [replace(c, difficulty=min(c.difficulty, 2)) for c in pool]
    paper = assemble(easy, blueprint, 3)
    assert len(paper) == blueprint.total_questions


@pytest.fixture
def grouped_bank(app, tmp_path):
    bank = write_bank(tmp_path / "bank", extra=2)
    ids = sorted(q["id"] for qs in generate(extra=2).values() for q in qs)
    groups = [{"id": f"fact-{n}", "note": f"知识点{n}", "items": ids[n * 3:n * 3 + 3]} for n in range(len(ids) // 3)]
    (bank / "enemies.yaml").write_text(yaml.safe_dump({"groups": groups}, allow_unicode=True), "utf-8")
    report = bank_io.sync_from_files(db.session, bank)
    assert len(report.regrouped) == len(groups) * 3
    return bank, {qid: g["id"] for g in groups for qid in g["items"]}


def test_papers_from_the_database_honour_the_imported_groups(app, grouped_bank, make_user):
    bank, groups = grouped_bank
    stored = dict(db.session.query(BankQuestion.id, BankQuestion.enemy_group))
    assert stored == {qid: groups.get(qid) for qid in stored}
    trainee = make_user("grouped", Role.TRAINEE)
    for seed in range(12):
        attempt = exam.start_attempt(db.session, trainee.id, mode="mock", level=4, seed=seed)
        on_paper = Counter(groups[d["q"]] for d in attempt.paper if d["q"] in groups)
        assert len(attempt.paper) == 100 and max(on_paper.values()) == 1
        exam.submit(attempt)


def test_re_importing_the_group_file_regroups_rows_and_keeps_a_trainers_edit(app, grouped_bank):
    bank, groups = grouped_bank
    edited = sorted(groups)[0]
    row = db.session.get(BankQuestion, edited)
    row.edited_by_id, row.stem = None, row.stem   # a trainer's row keeps its text, but groups follow the file
    (bank / "enemies.yaml").write_text(yaml.safe_dump({"groups": [
        {"id": "only-one", "note": "唯一的组", "items": sorted(groups)[:2]}]}, allow_unicode=True), "utf-8")
    report = bank_io.import_path(db.session, bank / "enemies.yaml")
    assert report.regrouped
    assert dict(db.session.query(BankQuestion.id, BankQuestion.enemy_group).filter(
        BankQuestion.enemy_group.isnot(None))) == {qid: "only-one" for qid in sorted(groups)[:2]}


def test_the_trainers_edit_page_shows_an_items_group(app, grouped_bank, users):
    bank, groups = grouped_bank
    qid = sorted(groups)[0]
    siblings = sorted(q for q, g in groups.items() if g == groups[qid] and q != qid)
    client = app.test_client()
    login(client, users[Role.TRAINER].username, PASSWORD)
    page = client.get(f"/bank/{qid}/edit").get_data(as_text=True)
    assert f"互斥组 {groups[qid]}" in page and "、".join(siblings) in page
    assert "enemies.yaml" not in page and "exams/" not in page, "no repository file named to a trainer"
    lone = next(q for (q,) in db.session.query(BankQuestion.id) if q not in groups)
    assert 'data-testid="enemy-group"' not in client.get(f"/bank/{lone}/edit").get_data(as_text=True)
