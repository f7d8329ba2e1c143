"""The scenario checks and the script walker, on small scenarios built in the test."""
from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from scenarios import Conversation, ScenarioError, check, load_scenario

FIXTURE = Path(__file__).resolve().parent / "data" / "scenarios" / "runtime-lookup.yaml"
BASE = yaml.safe_load(FIXTURE.read_text("utf-8"))


def problems_after(change) -> list[str]:
    data = copy.deepcopy(BASE)
    change(data)
    return check(data)


def test_the_fixture_is_valid():
    assert check(BASE) == []


@pytest.mark.parametrize("change, place, words", [
    (lambda d: d.update(levle=5), "levle", "未知的字段"),
    (lambda d: d.pop("brief"), "brief", "缺少必填字段"),
    (lambda d: d.update(id="Bad ID"), "id", "小写字母"),
    (lambda d: d.update(level=2), "level", "5、4 或 3"),
    (lambda d: d.update(situation="karaoke"), "situation", "未知的情境类型"),
    (lambda d: d["persona"].update(voice="robot"), "persona.voice", "未知的声音"),
    (lambda d: d.update(line="underwater"), "line", "线路条件无效"),
    (lambda d: d.update(sources=["nope.txt"]), "sources[0]", "规范文件名"),
    (lambda d: d["script"].update(start="t9"), "script.start", "没有这个话轮"),
    (lambda d: d["script"]["turns"][0]["branches"][0].update(next="t9"), "script.turns[0].branches[0].next",
     "没有这个话轮"),
    (lambda d: d["script"]["turns"][0]["branches"][0].update({"if": "flatters"}), "script.turns[0].branches[0].if",
     "未定义的意图"),
    (lambda d: d["script"]["turns"][0]["branches"].pop(), "script.turns[0].branches", "otherwise"),
    (lambda d: d["script"]["turns"][0]["branches"][1].update(next="t2"), "script.turns.t1b", "无法到达"),
    (lambda d: d["script"]["turns"][3].pop("end"), "script.turns[3].branches", "必须有分支"),
    (lambda d: d["rubric"]["items"][0].update(points=25), "rubric.items", "之和应为 100，现为 95"),
    (lambda d: d["rubric"]["items"][0].update(points=-1), "rubric.items[0].points", "非负数"),
    (lambda d: d["rubric"]["items"][0].update(kind="vibes"), "rubric.items[0].kind", "未知的评分项类型"),
    (lambda d: d["rubric"]["items"][0].update(scope="middle"), "rubric.items[0].scope", "范围必须是"),
    (lambda d: d["rubric"]["items"][1].update(max_s=3), "rubric.items[1].max_s", "没有这个参数"),
    (lambda d: d["rubric"]["items"][2].update(mode="auto_fail"), "rubric.items[2].points", "一票否决项的分值应为 0"),
    (lambda d: d["rubric"]["items"].append({"id": "o", "kind": "order", "label": "顺序", "points": 0, "first": "hold"}),
     "rubric.items[4].first", "phrase 评分项"),
    (lambda d: d.pop("agent_number"), "agent_number", "{agent_number}"),
    (lambda d: d["reference_answers"].pop(), "reference_answers", "缺少 failing"),
    (lambda d: d["reference_answers"][0]["turns"][1].update(then=[{"teleport": 1}]),
     "reference_answers[0].turns[1].then[0]", "未知的动作"),
    (lambda d: d.update(direction="outbound"), "outbound", "outbound.outcome"),
])
def test_each_rule_names_the_place(change, place, words):
    found = problems_after(change)
    assert any(p.startswith(place + ":") and words in p for p in found), found


def test_loading_refuses_an_invalid_file_with_every_problem(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nlevel: 9\n", "utf-8")
    with pytest.raises(ScenarioError) as err:
        load_scenario(bad)
    assert all(p.startswith("bad.yaml: ") for p in err.value.problems) and len(err.value.problems) > 3
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: [unclosed\n", "utf-8")
    with pytest.raises(ScenarioError, match="不是有效的 YAML"):
        load_scenario(broken)


def test_the_command_line_reports_and_exits_by_validity(tmp_path):
    run = lambda *a: subprocess.run([sys.executable, "-m", "scenarios", "validate", *a], capture_output=True,  # noqa: E731
                                    text=True, cwd=Path(__file__).resolve().parent.parent)
    assert run(str(FIXTURE)).returncode == 0
    (tmp_path / "bad.yaml").write_text("id: x\nlevel: 9\n", "utf-8")
    result = run(str(tmp_path))
    assert result.returncode == 1 and "bad.yaml: level: 等级必须是 5、4 或 3" in result.stdout
    assert run(str(tmp_path / "missing")).returncode == 2


def test_conversation_follows_the_branches():
    conv = Conversation(BASE)
    assert conv.start().id == "t1"
    assert conv.reply("您好，请您稍等，我帮您查询一下").id == "t2"
    assert conv.reply("您本月话费是八十八元").id == "t3"
    assert conv.ended and conv.end_kind == "caller_hangs_up"
    assert conv.reply("还有什么可以帮您") is None


def test_conversation_tolerates_recognition_errors_and_takes_otherwise():
    conv = Conversation(BASE)
    conv.start()
    assert conv.reply("今天天气不错").id == "t1b", "nothing recognisable: the otherwise branch"
    conv = Conversation(BASE)
    conv.start()
    assert conv.reply("请您稍等，我帮您查巡一下").id == "t2", "a misrecognised character still matches"


def test_no_reply_repeats_once_then_the_caller_gives_up():
    conv = Conversation(BASE)
    conv.start()
    assert conv.no_reply().id == "t1"
    assert conv.no_reply() is None
    data = copy.deepcopy(BASE)
    data["script"]["turns"][0]["on_no_reply"] = "t1b"
    conv = Conversation(data)
    conv.start()
    assert conv.no_reply().id == "t1b"
