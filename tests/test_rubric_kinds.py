"""The registry of rubric kinds: the engine, the scenario checker and the docs read one definition."""
import pytest

from grading.rubric import KINDS, RubricError, grade
from grading.rubric.kinds import REGISTRY, docs_table
from scenarios.schema import check
from tests.rubric_helpers import TABOOS, Call, scenario


def test_every_kind_has_a_grader_parameters_and_docs():
    assert set(KINDS) == set(REGISTRY)
    for kind in REGISTRY.values():
        assert callable(kind.grader) and kind.doc
        assert all(p.type and p.name for p in kind.params)
    table = docs_table()
    assert all(f"`{k}`" in table for k in KINDS)


def test_forbidden_scope_is_applied_not_ignored():
    item = {"id": "taboo", "kind": "forbidden", "label": "开头不说忌语", "points": 10, "phrases": ["喂喂"],
            "scope": "first"}
    rec = (Call().agent("您好，工号1035。").caller("t1", "喂？听得见吗").agent("喂喂，听得见。")
           .hangup().build())
    assert grade(rec, scenario(item)).item("taboo").points_earned == 10      # said, but not in the first turn
    rec2 = Call().agent("喂喂，您好。").caller("t1", "你好").agent("请讲。").hangup().build()
    assert grade(rec2, scenario(item)).item("taboo").points_earned == 0
    everywhere = dict(item, scope="any")
    assert grade(rec, scenario(everywhere)).item("taboo").points_earned == 0


def test_parameter_of_the_wrong_type_is_refused_by_engine_and_checker():
    item = {"id": "r", "kind": "rings", "label": "接听", "points": 100, "max": "三声"}
    with pytest.raises(RubricError, match="max"):
        grade(Call().agent("您好").hangup().build(), scenario(item, ballast=False), taboos=TABOOS)
    problems = check(scenario(item, ballast=False))
    assert any("rubric.items[0].max" in p for p in problems)


def test_unknown_parameter_is_reported_by_the_checker():
    item = {"id": "h", "kind": "hangup", "label": "挂机", "points": 100, "by": "caller", "scope": "any"}
    assert any("rubric.items[0].scope" in p and "没有这个参数" in p for p in check(scenario(item, ballast=False)))


def test_evidence_is_a_dataclass_and_serialises_to_the_old_shape():
    item = {"id": "o", "kind": "phrase", "label": "问候", "points": 100, "any_of": ["您好"]}
    res = grade(Call().agent("您好，工号1035。").hangup().build(), scenario(item, ballast=False))
    ev = res.item("o").evidence[0]
    assert ev.phrase == "您好" and ev.method == "exact" and ev.utterance == 0
    d = res.to_dict()["items"][0]["evidence"][0]
    assert set(d) == {"utterance", "t", "text", "phrase", "similarity", "method", "confidence"}


def test_docs_table_is_the_registry():
    from pathlib import Path
    docs = (Path(__file__).resolve().parents[1] / "docs" / "scenarios.md").read_text(encoding="utf-8")
    assert docs_table() in docs, "regenerate the table in docs/scenarios.md from grading.rubric.kinds.docs_table()"
