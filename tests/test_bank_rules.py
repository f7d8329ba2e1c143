"""The bank-wide rules of ``python -m exams validate`` on small generated banks: a clean bank passes, and
each rule, broken on purpose, fails the validation with its Chinese message and place."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from exams.__main__ import main
from tests.bank_factory import generate

ROOT = Path(__file__).resolve().parent.parent


def _write(directory: Path, files: dict[str, list[dict]], enemies: list[dict] | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for area, questions in files.items():
        (directory / f"{area}.yaml").write_text(
            yaml.safe_dump({"area": area, "questions": questions}, allow_unicode=True, sort_keys=False), "utf-8")
    if enemies is not None:
        (directory / "enemies.yaml").write_text(yaml.safe_dump({"groups": enemies}, allow_unicode=True), "utf-8")
    return directory


def _validate(capsys, directory: Path, *flags: str) -> tuple[int, list[str]]:
    code = main(["validate", str(directory), *flags])
    lines = capsys.readouterr().out.splitlines()
    return code, [line for line in lines if line.startswith("ERROR")]


def _items(files, level: int, qtype: str) -> list[dict]:
    return [q for qs in files.values() for q in qs if q["level"] == level and q["type"] == qtype]


def test_a_clean_generated_bank_passes_every_rule(tmp_path, capsys):
    code, errors = _validate(capsys, _write(tmp_path / "bank", generate()))
    assert (code, errors) == (0, [])


def test_the_command_line_exits_nonzero_on_a_broken_bank(tmp_path):
    files = generate()
    for q in _items(files, 4, "multiple"):
        q["answer"] = ["A", "B", "C"]
    bank = _write(tmp_path / "bank", files)
    run = subprocess.run([sys.executable, "-m", "exams", "validate", str(bank)], cwd=ROOT, capture_output=True,
                         text=True)
    assert run.returncode == 1
    assert "四级 多选题" in run.stdout and "3 个正确答案" in run.stdout


def test_key_strictly_longest_above_30_percent_fails(tmp_path, capsys):
    files = generate()
    singles = _items(files, 5, "single")
    cut = int(len(singles) * 0.30)              # exactly 30 %: allowed
    for q in singles[:cut]:
        q["options"][q["answer"]] += "并做好记录"
    # (the cue gate is left out: on a bank whose other keys tie, 30 % longest keys already lift the
    # "longest option" strategy above 35 points)
    assert _validate(capsys, _write(tmp_path / "ok", files), "--no-testwise")[1] == []
    for q in singles[cut:cut + 2]:              # just over 30 %
        q["options"][q["answer"]] += "并做好记录"
    code, errors = _validate(capsys, _write(tmp_path / "bad", files), "--no-testwise")
    assert code == 1
    [error] = errors
    assert error.startswith("ERROR 五级 单选题") and "唯一最长" in error and singles[0]["id"] in error


def test_absolute_words_only_in_distractors_fail(tmp_path, capsys):
    files = generate()
    for q in _items(files, 4, "single")[:30]:
        for letter in q["options"]:
            if letter != q["answer"]:
                q["options"][letter] = "一律" + q["options"][letter]
    code, errors = _validate(capsys, _write(tmp_path / "bank", files), "--no-testwise")
    assert code == 1
    assert any(e.startswith("ERROR 四级 单选题") and "干扰项" in e and "绝对词" in e for e in errors), errors


def test_absolute_words_only_in_false_statements_fail_and_balance_passes(tmp_path, capsys):
    files = generate()
    judges = _items(files, 3, "judge")
    false = [q for q in judges if q["answer"] is False]
    true = [q for q in judges if q["answer"] is True]
    for q in false[:len(false) // 2]:
        q["stem"] = "必须" + q["stem"]
    code, errors = _validate(capsys, _write(tmp_path / "bad", files), "--no-testwise")
    assert code == 1
    assert any(e.startswith("ERROR 三级 判断题") and "错误陈述" in e for e in errors), errors
    for q in true[:len(true) // 2]:             # true statements that carry 必须 where the standard says so
        q["stem"] = "必须" + q["stem"]
    assert _validate(capsys, _write(tmp_path / "ok", files), "--no-testwise")[1] == []


def test_multiple_choice_key_counts_must_vary(tmp_path, capsys):
    files = generate()
    multiples = _items(files, 5, "multiple")
    for q in multiples:
        q["answer"] = ["A", "B", "D"]
    code, errors = _validate(capsys, _write(tmp_path / "same", files), "--no-testwise")
    assert any(e.startswith("ERROR 五级 多选题") and "至少要有两种" in e for e in errors), errors
    for q in multiples[:len(multiples) // 3]:   # about 67 % with three keys: still too uniform
        q["answer"] = ["A", "C"]
    code, errors = _validate(capsys, _write(tmp_path / "skewed", files), "--no-testwise")
    assert code == 1 and any(e.startswith("ERROR 五级 多选题") and "最多 60%" in e for e in errors), errors


def test_near_duplicate_stems_fail_unless_in_one_enemy_group(tmp_path, capsys):
    files = generate()
    a, b = files["etiquette"][0], files["complaint"][5]          # different areas and maybe types
    b["stem"] = a["stem"].replace("（　　）", "的做法（　　）")
    code, errors = _validate(capsys, _write(tmp_path / "bad", files))
    assert code == 1
    [error] = errors
    assert b["id"] in error and a["id"] in error and "几乎相同" in error and "互斥组" in error
    group = [{"id": "same-fact", "note": "同一知识点", "items": [a["id"], b["id"]]}]
    assert _validate(capsys, _write(tmp_path / "grouped", files, group)) == (0, [])


def test_enemy_group_file_mistakes_are_errors(tmp_path, capsys):
    files = generate()
    ids = [q["id"] for q in files["etiquette"][:3]]
    groups = [{"id": "one", "note": "知识点一", "items": ids[:2]},
              {"id": "two", "note": "知识点二", "items": [ids[1], ids[2]]},
              {"id": "three", "note": "知识点三", "items": [ids[2], "etiquette-5-999"]},
              {"id": "Bad Id", "note": "x", "items": ids}]
    code, errors = _validate(capsys, _write(tmp_path / "bank", files, groups))
    assert code == 1
    assert any("enemies.yaml: two" in e and ids[1] in e and "已在互斥组 one" in e for e in errors), errors
    assert any("enemies.yaml: three" in e and "题库中没有 etiquette-5-999" in e for e in errors), errors
    assert any("互斥组需要 id" in e for e in errors), errors


def test_cue_strategy_gate_fails_a_level_answerable_by_politeness(tmp_path, capsys):
    files = generate()
    for q in [q for qs in files.values() for q in qs if q["type"] == "single"]:
        for letter in q["options"]:
            q["options"][letter] = ("请您稍等，" if letter == q["answer"] else "你自己看。") + q["options"][letter]
    bank = _write(tmp_path / "bank", files)
    code, errors = _validate(capsys, bank)
    gate = [e for e in errors if "试卷" in e]
    assert code == 1 and {e.split()[1] for e in gate} == {"五级", "四级", "三级"}
    assert all("超过上限 35 分" in e and "选最礼貌的" in e for e in gate), gate
    assert not [e for e in _validate(capsys, bank, "--no-testwise")[1] if "试卷" in e]


@pytest.mark.parametrize("flag", ["--no-testwise"])
def test_one_file_check_keeps_its_enemy_groups(tmp_path, capsys, flag):
    files = generate()
    a, b = files["taboo"][0], files["taboo"][1]
    b["stem"] = a["stem"].replace("（　　）", "的做法（　　）")
    bank = _write(tmp_path / "bank", files, [{"id": "pair", "note": "同一知识点", "items": [a["id"], b["id"]]}])
    assert _validate(capsys, bank / "taboo.yaml", "--no-pool", flag) == (0, [])
