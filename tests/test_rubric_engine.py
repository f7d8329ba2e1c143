"""The rubric engine (grading.rubric.grade) on call records built here, one compact scenario per test."""
import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from grading.rubric import GradeResult, RubricError, grade
from grading.rubric import engine as engine_module
from tests.rubric_helpers import TABOOS, Call, scenario

ROOT = Path(__file__).resolve().parents[1]
PYTHON = str(ROOT / ".venv" / "bin" / "python") if (ROOT / ".venv" / "bin" / "python").exists() else sys.executable

OPENING = {"id": "opening", "kind": "phrase", "label": "规范开头语", "points": 20, "scope": "first",
           "all_of": [["您好", "你好"], ["工号{agent_number}", "{agent_number}号"],
                      ["很高兴为您服务", "请问有什么可以帮您"]],
           "norm": "接听来电应先问候并报工号。"}
CLOSING = {"id": "closing", "kind": "phrase", "label": "结束语", "points": 10, "scope": "last",
           "any_of": ["还有什么可以帮您", "感谢您的来电"]}


def good_call(**kw):
    return (Call(**kw).agent("您好，工号1035，很高兴为您服务。")
            .caller("t1", "我想查一下上个月的话费")
            .agent("好的，请您稍等，我帮您查询一下。")
            .hold(10)
            .agent("感谢您的耐心等待，您上个月的话费是八十元。")
            .caller("t2", "好的，谢谢")
            .agent("请问还有什么可以帮您？感谢您的来电，再见。")
            .hangup("caller"))


# ---- phrase -------------------------------------------------------------------------------------

def test_phrase_credited_exact_with_evidence_and_norm():
    r = grade(good_call().build(), scenario(OPENING))
    item = r.item("opening")
    assert (item.verdict, item.points_earned) == ("pass", 20)
    assert [e.phrase for e in item.evidence] == ["您好", "工号1035", "很高兴为您服务"]
    assert all(e.utterance == 0 and e.method == "exact" for e in item.evidence)
    assert "已说到" in item.note and "接听来电应先问候并报工号" in item.note
    assert r.total == 100 and r.passed and not r.provisional


def test_phrase_survives_asr_errors():
    record = Call().agent("您好，公号1035，很高心为您服务。").caller("t1").agent("好的").hangup().build()
    item = grade(record, scenario(OPENING)).item("opening")
    assert item.verdict == "pass" and item.points_earned == 20
    methods = {e.phrase: (e.method, e.similarity) for e in item.evidence}
    assert methods["工号1035"] == ("pinyin", 1.0)
    assert methods["很高兴为您服务"][0] == "pinyin" and methods["很高兴为您服务"][1] == pytest.approx(0.929, abs=0.001)
    assert "识别为「公号1035」" in item.note


def test_phrase_missing_group_fails_without_min_groups():
    record = Call().agent("您好，很高兴为您服务。").caller("t1").agent("好的").hangup().build()
    item = grade(record, scenario(OPENING)).item("opening")
    assert (item.verdict, item.points_earned) == ("fail", 0)
    assert "未说到：「工号1035」／「1035号」" in item.note


def test_phrase_partial_with_min_groups_is_proportional():
    record = Call().agent("您好，很高兴为您服务。").caller("t1").agent("好的").hangup().build()
    item = grade(record, scenario(dict(OPENING, min_groups=2))).item("opening")
    assert item.verdict == "partial"
    assert item.points_earned == pytest.approx(20 * 2 / 3, abs=0.01)
    only_one = Call().agent("您好。").caller("t1").agent("好的").hangup().build()
    assert grade(only_one, scenario(dict(OPENING, min_groups=2))).item("opening").points_earned == 0


def test_agent_number_from_record_when_scenario_has_none():
    record = Call(agent_number="2046").agent("您好，工号2046，很高兴为您服务。").hangup().build()
    scn = scenario(OPENING)
    del scn["agent_number"]
    assert grade(record, scn).item("opening").verdict == "pass"
    # the scenario's number wins over the record's
    assert grade(record, scenario(OPENING)).item("opening").verdict != "pass"
    # neither: the placeholder alternatives cannot match, and the result says why
    record["agent"] = {}
    r = grade(record, scn)
    assert r.item("opening").verdict == "fail" and any("占位符" in w for w in r.warnings)


def test_wrong_digit_goes_to_review_and_keeps_points_open():
    record = Call().agent("您好，工号一零三四，很高兴为您服务。").caller("t1").agent("好的").hangup().build()
    r = grade(record, scenario(OPENING))
    item = r.item("opening")
    assert item.verdict == "review" and item.points_earned == 0 and item.pending_gain == 20
    assert "需人工复核" in item.note and "0.83" in item.note
    assert r.total == 80 and r.passed and not r.provisional


def test_scope_first_and_last():
    late_opening = (Call().agent("喂，请讲。").caller("t1", "你好").agent("您好，工号1035，很高兴为您服务。")
                    .agent("还有什么可以帮您").caller("t2", "没有了").agent("好的，再见").hangup().build())
    r = grade(late_opening, scenario(OPENING, CLOSING))
    assert r.item("opening").verdict == "fail"
    assert r.item("closing").verdict == "fail"       # said, but not in the last turn
    anywhere = scenario(dict(OPENING, scope="any"), dict(CLOSING, scope="any"))
    r = grade(late_opening, anywhere)
    assert r.item("opening").verdict == "pass" and r.item("closing").verdict == "pass"


def test_scope_first_turn_spans_a_split_utterance():
    # the runtime's end-of-speech detection cut the greeting in two: still the first turn
    record = Call().agent("您好，").agent("工号1035，很高兴为您服务。").caller("t1").agent("好的").hangup().build()
    assert grade(record, scenario(OPENING)).item("opening").verdict == "pass"


def test_scope_all_is_proportional():
    polite = {"id": "polite", "kind": "phrase", "label": "使用敬语“您”", "points": 10, "scope": "all",
              "any_of": ["您"]}
    record = Call().agent("您好").agent("你稍等").agent("您的话费已经查到").agent("你还有别的问题吗").hangup().build()
    item = grade(record, scenario(polite)).item("polite")
    assert item.verdict == "partial" and item.points_earned == 5


def test_scope_after_and_before_hold():
    thanks = {"id": "thanks", "kind": "phrase", "label": "保持后致谢", "points": 10, "scope": "after_hold",
              "any_of": ["感谢您的耐心等待", "让您久等了"]}
    ask = {"id": "ask", "kind": "phrase", "label": "保持前告知", "points": 10, "scope": "before_hold",
           "any_of": ["请您稍等"]}
    r = grade(good_call().build(), scenario(thanks, ask))
    assert r.item("thanks").verdict == "pass" and r.item("ask").verdict == "pass"
    no_hold = Call().agent("您好").caller("t1").agent("感谢您的耐心等待").hangup().build()
    r = grade(no_hold, scenario(thanks, ask))
    assert r.item("thanks").verdict == "fail" and "没有使用保持" in r.item("thanks").note
    # two holds: thanked after one of them only
    two = (Call().agent("请您稍等").hold(5).agent("感谢您的耐心等待").caller("t1").agent("请您稍等").hold(5)
           .agent("好的，查到了").hangup().build())
    item = grade(two, scenario(thanks)).item("thanks")
    assert item.verdict == "partial" and item.points_earned == 5


def test_scope_reply_to_turn():
    item = {"id": "apology", "kind": "phrase", "label": "致歉", "points": 10, "scope": "reply_to:angry",
            "any_of": ["非常抱歉", "很抱歉", "对不起"]}
    scn = scenario(item, script={"start": "angry", "turns": [
        {"id": "angry", "say": "你们的网怎么又断了！", "branches": [{"otherwise": True, "next": "bye"}]},
        {"id": "bye", "say": "好吧。", "end": "caller_hangs_up"}]})
    said = (Call().agent("您好").caller("angry", "你们的网怎么又断了").agent("非常报歉给您带来不便")
            .caller("bye").hangup().build())
    r = grade(said, scn)
    assert r.item("apology").verdict == "pass" and r.item("apology").evidence[0].method == "pinyin"
    assert "你们的网怎么又断了" in r.item("apology").note
    before = Call().agent("您好，很抱歉").caller("angry").agent("我帮您查").caller("bye").hangup().build()
    assert grade(before, scn).item("apology").verdict == "fail"
    never = Call().agent("您好").caller("bye").hangup().build()
    assert "没有说到这一轮" in grade(never, scn).item("apology").note


def test_intent_replaces_phrases_and_unknown_intent_is_an_error():
    item = {"id": "speak_up", "kind": "phrase", "label": "请来电者大声", "points": 10, "intent": "asks_to_speak_up"}
    scn = scenario(item, intents={"asks_to_speak_up": ["麻烦您大声一点", "请您大点声"]})
    record = Call().agent("您好，听不太清，麻烦您大生一点好吗").hangup().build()
    assert grade(record, scn).item("speak_up").verdict == "pass"
    with pytest.raises(RubricError):
        grade(record, scenario(dict(item, intent="nope")))


def test_missing_phrase_in_low_confidence_speech_is_review_not_fail():
    record = Call().agent("嗯嗯的工那三五很高", confidence=0.3).caller("t1").agent("好的").hangup().build()
    item = grade(record, scenario(OPENING)).item("opening")
    assert item.verdict == "review" and item.pending_gain == 20
    assert item.evidence[-1].utterance == 0 and "0.30" in item.evidence[-1].text
    empty = Call().agent("", dur=2.5, confidence=None).caller("t1").agent("好的").hangup().build()
    assert grade(empty, scenario(OPENING)).item("opening").verdict == "review"


# ---- forbidden ----------------------------------------------------------------------------------

TABOO_ITEM = {"id": "taboo", "kind": "forbidden", "label": "服务忌语", "points": 10, "mode": "deduct",
              "per_hit": 5, "use": "common_taboos", "phrases": ["有什么了不起"]}


def test_forbidden_verbatim_is_deducted_with_evidence():
    record = (Call().agent("您好，工号1035").caller("t1", "我的宽带怎么又断了").agent("这个我不知道，没办法。")
              .hangup().build())
    r = grade(record, scenario(TABOO_ITEM), taboos=TABOOS)
    item = r.item("taboo")
    assert item.points_earned == 0 and item.verdict == "fail"
    assert [(e.utterance, e.phrase, e.method) for e in item.evidence] == [
        (1, "不知道", "exact"), (1, "没办法", "exact")]
    utt = next(e for e in record["events"] if e["type"] == "agent_utterance" and e["index"] == 1)
    assert all(utt["start"] <= e.t <= utt["end"] for e in item.evidence)
    assert "这个问题我帮您确认一下" in item.note and "扣10分" in item.note


def test_forbidden_deduction_per_hit_and_longest_evidence_wins():
    record = Call().agent("不行就是不行").agent("好的我帮您看看").hangup().build()
    item = grade(record, scenario(dict(TABOO_ITEM, phrases=["不行就是不行"], points=20)), taboos=TABOOS).item("taboo")
    assert len(item.evidence) == 1 and item.evidence[0].phrase == "不行就是不行"
    assert (item.points_earned, item.verdict) == (15, "partial")


def test_forbidden_word_timing_from_transcript_words():
    words = [{"text": "我", "start": 20.1, "end": 20.3, "confidence": 0.95},
             {"text": "不知道", "start": 20.3, "end": 20.9, "confidence": 0.92}]
    record = Call().agent("我不知道", start=20.0, dur=1.0, words=words).hangup().build()
    (ev,) = grade(record, scenario(TABOO_ITEM), taboos=TABOOS).item("taboo").evidence
    assert ev.t == 20.3 and ev.confidence == 0.92 and ev.text == "我【不知道】"


def test_similar_sounding_speech_is_never_a_forbidden_hit():
    lines = ["好的，我知道了。", "没问题，我马上帮您办理。", "您看这样行不行？", "不知道您现在方便接听电话吗？",
             "我们已经布置到位了。", "喂，您好，请问有什么可以帮您？", "您的意见我会转达给领导。",
             "我一定想办法帮您解决。",
             "您问的问题我帮您问一下同事。", "您能不能再说一遍？", "有什么可以帮您？"]
    call = Call()
    for line in lines:
        call.agent(line).caller("t1")
    r = grade(call.hangup().build(), scenario(TABOO_ITEM), taboos=TABOOS)
    item = r.item("taboo")
    assert (item.verdict, item.points_earned, item.evidence) == ("pass", 10, [])


def test_low_confidence_forbidden_hit_is_review_without_deduction():
    record = Call().agent("您好").agent("我不知道", confidence=0.4).hangup().build()
    r = grade(record, scenario(TABOO_ITEM), taboos=TABOOS)
    item = r.item("taboo")
    assert (item.verdict, item.points_earned, item.pending_loss) == ("review", 10, 5)
    assert "识别可信度0.40" in item.note
    # 95 would still pass, but a bare 我不知道 is also an attitude flag (推诿): it waits for the assessor
    assert r.total == 100 and r.provisional
    assert [n.item for n in r.needs_review] == ["attitude"] and r.needs_review[0].evidence[0].confidence == 0.4


def test_forbidden_homophone_is_review_only():
    record = Call().agent("您有意见找领到去吧").hangup().build()
    item = grade(record, scenario(TABOO_ITEM), taboos=TABOOS).item("taboo")
    assert item.verdict == "review" and item.points_earned == 10 and item.evidence[0].method == "pinyin"


def test_auto_fail_gives_zero_with_evidence():
    harass = {"id": "abuse", "kind": "forbidden", "label": "辱骂来电者", "points": 0, "mode": "auto_fail",
              "phrases": ["你有病吧"]}
    record = good_call().build()
    record["events"].insert(5, {"t": 12.0, "type": "agent_utterance", "index": 9, "start": 12.0, "end": 13.0,
                                "transcript": {"text": "你有病吧！", "confidence": 0.9, "words": []}})
    r = grade(record, scenario(OPENING, harass))
    assert r.total == 0 and r.auto_failed and not r.passed and not r.provisional
    item = r.item("abuse")
    assert item.verdict == "fail" and item.evidence[0].utterance == 9 and item.evidence[0].t == 12.0
    assert "记0分" in item.note
    assert r.item("opening").points_earned == 20      # the items themselves are still reported


def test_auto_fail_on_weak_evidence_is_provisional():
    harass = {"id": "abuse", "kind": "forbidden", "label": "辱骂来电者", "points": 0, "mode": "auto_fail",
              "phrases": ["你有病吧"]}
    record = good_call().agent("你有病吧", confidence=0.3).build()
    r = grade(record, scenario(OPENING, harass))
    assert not r.auto_failed and r.total == 100 and r.passed and r.provisional
    assert r.item("abuse").verdict == "review" and r.item("abuse").pending_loss == 100


def test_common_taboos_file(tmp_path, monkeypatch):
    missing = tmp_path / "none" / "common.yaml"
    monkeypatch.setattr(engine_module, "COMMON_FILE", missing)
    record = Call().agent("我不知道").hangup().build()
    with pytest.raises(RubricError, match="common.yaml"):
        grade(record, scenario(TABOO_ITEM))          # never a silent empty list
    shared = tmp_path / "common.yaml"
    shared.write_text(yaml.safe_dump(TABOOS, allow_unicode=True), encoding="utf-8")
    monkeypatch.setattr(engine_module, "COMMON_FILE", shared)
    assert grade(record, scenario(TABOO_ITEM)).item("taboo").points_earned == 5
    # items without use: common_taboos never need the file
    monkeypatch.setattr(engine_module, "COMMON_FILE", missing)
    # (attitude off: the bare 我不知道 would otherwise count as an impolite expression, 推诿)
    assert grade(record, scenario(dict(TABOO_ITEM, use=None, attitude=False))).item("taboo").points_earned == 10


# ---- order, rings, hold, latency, length --------------------------------------------------------

def test_order():
    order = {"id": "order", "kind": "order", "label": "开头与结束顺序", "points": 10,
             "first": "opening", "last": "closing"}
    scn = scenario(OPENING, CLOSING, order)
    assert grade(good_call().build(), scn).item("order").verdict == "pass"
    swapped = (Call().agent("请讲").caller("t1").agent("您好，工号1035，很高兴为您服务").agent("还有什么可以帮您")
               .caller("t2").agent("再见").hangup().build())
    item = grade(swapped, scenario(dict(OPENING, scope="any"), dict(CLOSING, scope="any"), order)).item("order")
    assert (item.verdict, item.points_earned) == ("fail", 0)
    # one end missing: the sequence is not there, no half credit
    half = Call().agent("您好，工号1035，很高兴为您服务").caller("t1").agent("再见").hangup().build()
    item = grade(half, scn).item("order")
    assert (item.verdict, item.points_earned) == ("fail", 0) and "首尾都做到" in item.note
    with pytest.raises(RubricError):
        grade(half, scenario(dict(order, first="nope")))


@pytest.mark.parametrize("rings, verdict", [(1, "pass"), (3, "pass"), (4, "fail"), (6, "fail")])
def test_rings(rings, verdict):
    item = {"id": "rings", "kind": "rings", "label": "三声内接听", "points": 10, "max": 3}
    record = Call(rings=rings).agent("您好").hangup().build()
    res = grade(record, scenario(item)).item("rings")
    assert res.verdict == verdict and res.points_earned == (10 if verdict == "pass" else 0)
    assert res.evidence[0].method == "event"


def test_rings_abandoned_call():
    item = {"id": "rings", "kind": "rings", "label": "三声内接听", "points": 10, "max": 3}
    record = Call(rings=None).event("ring", n=1).event("abandoned").build()
    assert grade(record, scenario(item, ballast=False)).item("rings").verdict == "fail"


HOLD_ITEM = {"id": "hold", "kind": "hold", "label": "保持礼仪", "points": 15, "ask_before": True,
             "thank_after": True, "report_every_s": 15}


def test_hold_etiquette_full():
    item = grade(good_call().build(), scenario(HOLD_ITEM)).item("hold")
    assert (item.verdict, item.points_earned) == ("pass", 15)


def test_hold_without_asking_or_thanking():
    record = Call().agent("您好").caller("t1").agent("我查一下").hold(10).agent("查到了，是八十元").hangup().build()
    item = grade(record, scenario(HOLD_ITEM)).item("hold")
    assert item.verdict == "partial" and item.points_earned == 5
    assert "保持前征得同意" in item.note and "1次中做到0次" in item.note


@pytest.mark.parametrize("seconds, ok", [(15, True), (17, True), (17.5, False), (40, False)])
def test_hold_report_every(seconds, ok):
    item = {"id": "hold", "kind": "hold", "label": "保持期间回应", "points": 10, "report_every_s": 15}
    record = Call().agent("请您稍等").hold(seconds).agent("感谢您的耐心等待").hangup().build()
    assert grade(record, scenario(item)).item("hold").verdict == ("pass" if ok else "fail")


def test_hold_reporting_back_between_holds_needs_no_thanks():
    record = (Call().agent("您好").caller("t1").agent("请您稍等，我帮您查询").hold(12)
              .agent("还在为您查询，请您再稍等").hold(12).agent("感谢您的耐心等待，查到了").hangup().build())
    item = grade(record, scenario(HOLD_ITEM)).item("hold")
    assert (item.verdict, item.points_earned) == ("pass", 15)


def test_hold_never_used():
    record = Call().agent("您好").hangup().build()
    assert grade(record, scenario(HOLD_ITEM)).item("hold").verdict == "fail"


LATENCY = {"id": "latency", "kind": "reply_latency", "label": "及时应答", "points": 10, "max_s": 5}


def test_reply_latency_all_prompt():
    assert grade(good_call().build(), scenario(LATENCY)).item("latency").verdict == "pass"


def test_reply_latency_share_of_late_replies():
    record = (Call().agent("您好").caller("t1", dur=2).agent("好的", start=None)
              .caller("t2", dur=2).agent("请讲", start=None)
              .caller("t3", dur=2))
    record.agent("嗯，我在听", start=record.t + 8)          # 8 s late
    record.caller("t4", dur=2).agent("好的", start=record.t + 5)   # exactly 5 s: prompt
    item = grade(record.hangup().build(), scenario(LATENCY)).item("latency")
    assert item.verdict == "partial" and item.points_earned == 7.5
    assert "8.0秒后才应答" in item.note and item.evidence[0].utterance == 3


def test_reply_latency_missed_reply_and_ending_turn():
    scn = scenario(LATENCY, script={"start": "t1", "turns": [
        {"id": "t1", "say": "喂？", "branches": [{"otherwise": True, "next": "t2"}]},
        {"id": "t2", "say": "算了，我挂了。", "end": "caller_hangs_up"}]})
    record = Call().agent("您好").caller("t1").caller("t1", start=None).agent("您好，请讲").caller("t2")
    record.t += 10                                          # nobody answers the last line: it ended the call
    item = grade(record.hangup().build(), scn).item("latency")
    assert item.points_earned == 5 and "没有应答" in item.note


def test_call_length_soft():
    item = {"id": "length", "kind": "call_length", "label": "三分钟原则", "points": 5, "max_s": 180}
    assert grade(good_call().build(), scenario(item)).item("length").verdict == "pass"
    long_call = Call().agent("您好").caller("t1").agent("好的，再见", start=200).hangup(after=0.5)
    res = grade(long_call.build(), scenario(item)).item("length")
    assert "超过180秒" in res.note
    assert res.verdict == "review" and res.points_earned == 0 and res.pending_gain == 5


# ---- soft signals: speech rate, fillers ----------------------------------------------------------

RATE = {"id": "rate", "kind": "speech_rate", "label": "语速适中", "points": 10, "min": 100, "max": 120,
        "tolerance": 0.15}


def long_talk(rate):
    call = Call(rate=rate)
    for _ in range(4):
        call.agent("您好，您反映的宽带问题我已经记录下来了，稍后会有工作人员联系您。").caller("t1")
    return call.hangup()


@pytest.mark.parametrize("rate, verdict", [(110, "pass"), (86, "pass"), (138, "pass"), (80, "review"),
                                           (200, "review")])
def test_speech_rate(rate, verdict):
    item = grade(long_talk(rate).build(), scenario(RATE)).item("rate")
    assert item.verdict == verdict
    assert f"{rate}字/分钟" in item.evidence[0].text
    if verdict == "review":
        assert item.points_earned == 0 and item.pending_gain == 10
        assert ("偏快" if rate > 120 else "偏慢") in item.note


def test_speech_rate_uses_word_times_when_present():
    words = [{"text": "您好工号一零三五很高兴为您服务", "start": 11.0, "end": 19.2, "confidence": 0.9}]
    # 15 characters over 8.2 s of speech (the utterance itself lasts 20 s with silence around it)
    record = Call().agent("您好工号一零三五很高兴为您服务", start=10.0, dur=20.0, words=words).hangup().build()
    item = grade(record, scenario(RATE)).item("rate")
    assert "15字／8.2秒" in item.evidence[0].text


def test_soft_signal_never_fails_alone_provisional():
    # the trainee loses 45 points for real; the 20 points for speech rate are soft and fast speech is
    # all that stands between 55 and 75: the result is provisional, not a silent fail
    missing = {"id": "confirm", "kind": "phrase", "label": "复述确认", "points": 45, "any_of": ["您是说"]}
    rate = dict(RATE, points=20)
    r = grade(long_talk(200).build(), scenario(missing, rate))
    assert r.total == 35
    assert r.item("rate").verdict == "review"
    assert not r.passed and not r.provisional              # 35 + 20 < 60: fails on real items
    r = grade(long_talk(200).build(), scenario(dict(missing, points=25), rate))
    assert r.total == 55 and not r.passed and r.provisional   # 55 + 20 >= 60: an assessor decides
    assert [i.id for i in r.review_items] == ["rate"]
    d = r.to_dict()
    assert d["provisional"] is True and d["review_items"] == ["rate"]


FILLERS = {"id": "fillers", "kind": "fillers", "label": "无口头语", "points": 5, "max": 2}


def test_fillers_counted_and_soft():
    clean = Call().agent("您好，那个问题我已经帮您记录了。").agent("好啊，没问题。").hangup().build()
    item = grade(clean, scenario(FILLERS), taboos=TABOOS).item("fillers")
    assert item.verdict == "pass" and item.evidence == []          # 那个问题 and 好啊 are ordinary speech
    messy = Call().agent("嗯，您好，那个，我看一下").agent("呃，那个那个，啊，是这样的").hangup().build()
    item = grade(messy, scenario(FILLERS), taboos=TABOOS).item("fillers")
    assert item.verdict == "review" and item.pending_gain == 5
    assert [e.phrase for e in item.evidence] == ["嗯", "那个", "呃", "那个", "那个", "啊"]
    custom = grade(messy, scenario(dict(FILLERS, words=["然后"])), taboos=TABOOS).item("fillers")
    assert custom.verdict == "pass"


# ---- work order, hangup, transfer ---------------------------------------------------------------

WORK = {"id": "work", "kind": "work_order", "label": "工单填写", "points": 20,
        "fields": ["type", "summary", "contact", "callback_time"]}
WORK_EXPECT = {"required": True, "expect": {"type": "投诉", "contact": "13812345678"}}


def test_work_order_complete_and_right_with_phone_digitwise():
    record = (good_call().work_order(type="投诉", summary="宽带断网三天", contact="138-1234-5678",
                                     callback_time="明天上午").build())
    item = grade(record, scenario(WORK, work_order=WORK_EXPECT)).item("work")
    assert (item.verdict, item.points_earned) == ("pass", 20)


def test_work_order_partial_and_missing():
    record = good_call().work_order(type="咨询", summary="宽带断网", contact="13812345679", callback_time="").build()
    item = grade(record, scenario(WORK, work_order=WORK_EXPECT)).item("work")
    # 6 checks: 3 of the 4 fields filled in (callback_time empty), neither expected value right
    assert item.verdict == "partial" and item.points_earned == pytest.approx(20 * 3 / 6)
    assert "工单类型应为「投诉」" in item.note and "缺少回访时间" in item.note
    none = grade(good_call().build(), scenario(WORK, work_order=WORK_EXPECT)).item("work")
    assert (none.verdict, none.points_earned) == ("fail", 0)


def test_work_order_values_equal_after_normalisation():
    record = good_call().work_order(type="投訴", summary="x", contact="+86 138 1234 5678", callback_time="明天").build()
    expect = {"expect": {"type": "投诉 ", "contact": "138 1234 5678"}}
    item = grade(record, scenario(dict(WORK, fields=["type"]), work_order=expect)).item("work")
    assert item.verdict == "partial"            # +86 is not the number the caller gave
    record["work_order"]["contact"] = "13812345678"
    assert grade(record, scenario(dict(WORK, fields=["type"]), work_order=expect)).item("work").verdict == "pass"


@pytest.mark.parametrize("by, verdict", [("caller", "pass"), ("agent", "fail")])
def test_hangup(by, verdict):
    item = {"id": "hangup", "kind": "hangup", "label": "让来电者先挂机", "points": 5, "by": "caller"}
    res = grade(good_call().build() if by == "caller" else Call().agent("再见").hangup("agent").build(),
                scenario(item)).item("hangup")
    assert res.verdict == verdict


def test_hangup_line_dropped_is_not_the_agents_fault():
    item = {"id": "hangup", "kind": "hangup", "label": "让来电者先挂机", "points": 5, "by": "caller"}
    record = Call().agent("您好").event("dropped").event("hangup", by="line").build()
    assert grade(record, scenario(item)).item("hangup").verdict == "pass"


TRANSFER = {"id": "transfer", "kind": "transfer", "label": "转接账务部门", "points": 10, "target": "billing",
            "announce": True}
TARGETS = {"billing": {"label": "账务部门", "outcome": "busy"}, "tech": {"label": "技术部门", "outcome": "success"}}


def test_transfer():
    ok = Call().agent("您好").caller("t1").agent("好的，我帮您转接到账务部门，请稍等").transfer("billing").build()
    assert grade(ok, scenario(TRANSFER, transfer_targets=TARGETS)).item("transfer").verdict == "pass"
    silent = Call().agent("您好").caller("t1").agent("好的").transfer("billing").build()
    item = grade(silent, scenario(TRANSFER, transfer_targets=TARGETS)).item("transfer")
    assert (item.verdict, item.points_earned) == ("partial", 5) and "没有告知" in item.note
    wrong = Call().agent("您好").caller("t1").agent("我帮您转接").transfer("tech", outcome="success").build()
    item = grade(wrong, scenario(TRANSFER, transfer_targets=TARGETS)).item("transfer")
    assert item.verdict == "fail" and "技术部门" in item.note and "账务部门" in item.note


# ---- the whole result ---------------------------------------------------------------------------

FULL = [OPENING, CLOSING, dict(TABOO_ITEM, points=10), HOLD_ITEM, LATENCY, dict(RATE, points=5), FILLERS,
        {"id": "hangup", "kind": "hangup", "label": "让来电者先挂机", "points": 5, "by": "caller"},
        {"id": "rings", "kind": "rings", "label": "三声内接听", "points": 10, "max": 3},
        dict(WORK, points=10)]


def test_full_rubric_and_json_shape():
    record = good_call().work_order(type="投诉", summary="话费", contact="13812345678", callback_time="明天").build()
    scn = scenario(*FULL, ballast=False, work_order=WORK_EXPECT)
    r = grade(record, scn, taboos=TABOOS)
    assert isinstance(r, GradeResult)
    assert sum(i.points_possible for i in r.items) == 100 and r.warnings == []
    d = r.to_dict()
    json.dumps(d, ensure_ascii=False)
    assert set(d) >= {"total", "passed", "provisional", "auto_failed", "items"}
    for item in d["items"]:
        assert set(item) >= {"id", "kind", "label", "points_possible", "points_earned", "verdict", "evidence",
                             "confidence", "note"}
        assert item["verdict"] in ("pass", "partial", "fail", "review")
        assert 0 <= item["confidence"] <= 1
        for e in item["evidence"]:
            assert set(e) >= {"utterance", "t", "text", "phrase", "similarity", "method"}
            assert e["method"] in ("exact", "fuzzy", "pinyin", "event")


def test_grading_is_deterministic():
    record = (Call().agent("您好，公号1035，很高心为您服务").caller("t1").agent("嗯，那个，我不知道", confidence=0.5)
              .hold(30).agent("让您久等了").hangup("agent").build())
    scn = scenario(*FULL, ballast=False, work_order=WORK_EXPECT)
    first = grade(record, scn, taboos=TABOOS).to_dict()
    second = grade(json.loads(json.dumps(record)), scn, taboos=TABOOS).to_dict()
    assert first == second
    dump = lambda doc: json.dumps(doc, ensure_ascii=False, sort_keys=True)
    assert dump(first) == dump(second)


def test_total_rounding_and_pass_mark_boundary():
    three = {"id": "p", "kind": "phrase", "label": "三选二", "points": 10, "min_groups": 1,
             "all_of": [["甲乙丙丁"], ["戊己庚辛"], ["子丑寅卯"]]}
    record = Call().agent("甲乙丙丁").hangup().build()
    r = grade(record, scenario(three))
    assert r.item("p").points_earned == 3.33 and r.total == 93.3
    exact60 = {"id": "x", "kind": "phrase", "label": "x", "points": 40, "any_of": ["子丑寅卯"]}
    r = grade(record, scenario(exact60))
    assert r.total == 60 and r.passed


def test_scenario_object_with_data_attribute_and_bad_inputs():
    class Scenario:
        def __init__(self, data):
            self.data = data
    record = good_call().build()
    assert grade(record, Scenario(scenario(OPENING))).total == 100
    with pytest.raises(RubricError):
        grade(record, scenario({"id": "z", "kind": "telepathy", "label": "?", "points": 10}))
    with pytest.raises(RubricError):
        grade(dict(record, format="call-record/9"), scenario(OPENING))
    with pytest.raises(TypeError):
        grade(record, 42)


def test_mismatched_scenario_and_points_are_warnings():
    record = good_call().build()
    record["scenario"]["id"] = "other"
    r = grade(record, scenario(OPENING, ballast=False))
    assert any("other" in w for w in r.warnings) and any("不是 100" in w for w in r.warnings)


# ---- command line -------------------------------------------------------------------------------

def _cli(*args, cwd=ROOT):
    return subprocess.run([PYTHON, "-m", "grading.rubric", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


def test_cli_score_json_and_table(tmp_path):
    scn_file = tmp_path / "scn.yaml"
    scn_file.write_text(yaml.safe_dump(scenario(OPENING, CLOSING, HOLD_ITEM, LATENCY), allow_unicode=True),
                        encoding="utf-8")
    rec_file = tmp_path / "call.json"
    rec_file.write_text(json.dumps(good_call().build(), ensure_ascii=False), encoding="utf-8")
    out = _cli("score", "--scenario", str(scn_file), "--record", str(rec_file), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["total"] == 100 and data["passed"] is True
    assert [i["id"] for i in data["items"]] == ["opening", "closing", "hold", "latency", "ballast", "attitude"]
    table = _cli("score", "--scenario", str(scn_file), "--record", str(rec_file))
    assert table.returncode == 0 and "总分：100 / 100" in table.stdout and "规范开头语" in table.stdout


def test_cli_scenario_id_from_library_and_errors(tmp_path):
    lib = tmp_path / "library" / "level5"
    lib.mkdir(parents=True)
    (lib / "t-scn.yaml").write_text(yaml.safe_dump(scenario(OPENING), allow_unicode=True), encoding="utf-8")
    (tmp_path / "library" / "common.yaml").write_text(yaml.safe_dump(TABOOS, allow_unicode=True), encoding="utf-8")
    rec_file = tmp_path / "call.json"
    rec_file.write_text(json.dumps(good_call().build(), ensure_ascii=False), encoding="utf-8")
    out = _cli("score", "--scenario", "t-scn", "--record", str(rec_file), "--json",
               "--library", str(tmp_path / "library"))
    assert out.returncode == 0, out.stderr and json.loads(out.stdout)["scenario_id"] == "t-scn"
    unknown = _cli("score", "--scenario", "no-such", "--record", str(rec_file), "--library", str(tmp_path / "library"))
    assert unknown.returncode == 2 and "no-such" in unknown.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    out = _cli("score", "--scenario", "t-scn", "--record", str(bad), "--library", str(tmp_path / "library"))
    assert out.returncode == 2 and "JSON" in out.stderr


def test_taboos_as_a_plain_list_and_regrade():
    from grading.rubric import regrade
    record = Call().agent("这个没办法").hangup().build()
    item = dict(TABOO_ITEM, phrases=None)
    for taboos in (["没办法"], [{"phrase": "没办法", "say_instead": "我们一起想想其他办法"}]):
        assert grade(record, scenario(item), taboos=taboos).item("taboo").points_earned == 5
    assert regrade(record, scenario(item), taboos=["没办法"]).to_dict() == \
        grade(record, scenario(item), taboos=["没办法"]).to_dict()


def test_reply_to_a_repeated_turn_takes_the_best_reply():
    item = {"id": "prompt", "kind": "phrase", "label": "再次提示", "points": 10, "scope": "reply_to:t1",
            "any_of": ["请问能听到我说话吗"]}
    record = (Call().agent("您好").caller("t1", "（沉默）", spoken="", condition="silent").agent("喂？")
              .caller("t1", "（沉默）", spoken="", condition="silent")
              .agent("您好，请问能听到我说话吗？").hangup().build())
    assert grade(record, scenario(item)).item("prompt").verdict == "pass"


def test_work_order_from_the_last_saved_event_and_outbound_rings():
    record = good_call().work_order(type="咨询").work_order(type="投诉", summary="s", contact="13812345678",
                                                             callback_time="明天").build()
    record["work_order"] = None
    assert grade(record, scenario(WORK, work_order=WORK_EXPECT)).item("work").verdict == "pass"
    rings = {"id": "rings", "kind": "rings", "label": "三声内接听", "points": 10, "max": 3}
    outbound = Call(direction="outbound").event("outbound_result", outcome="answered").agent("您好").hangup().build()
    assert grade(outbound, scenario(rings)).item("rings").verdict == "pass"


def test_the_engine_imports_no_web_framework():
    code = "import sys, grading.rubric; assert not [m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug')]"
    assert subprocess.run([PYTHON, "-c", code], cwd=ROOT, timeout=60).returncode == 0


def test_python_m_grading_score_is_the_same_command(tmp_path):
    import subprocess
    import sys
    scn_file = tmp_path / "scn.yaml"
    scn_file.write_text(yaml.safe_dump(scenario(OPENING, CLOSING, HOLD_ITEM, LATENCY), allow_unicode=True),
                        encoding="utf-8")
    rec_file = tmp_path / "call.json"
    rec_file.write_text(json.dumps(good_call().build(), ensure_ascii=False), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "grading", "score", "--scenario", str(scn_file), "--record",
                          str(rec_file), "--json"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["total"] == 100
    missing = subprocess.run([sys.executable, "-m", "grading", "score", "--scenario", str(scn_file), "--record",
                              str(tmp_path / "nope.json")], capture_output=True, text=True, timeout=120)
    assert missing.returncode == 2


def test_reply_to_item_done_one_reply_early_is_credited_whole_or_not_at_all():
    """A caller does not always follow the script's order: confirming the need in the reply just before
    the scripted turn is the behaviour; a partial attempt there earns nothing extra."""
    confirm = {"id": "confirm", "kind": "phrase", "label": "确认需求", "points": 20, "scope": "reply_to:t2",
               "all_of": [["您是说"], ["对吗"]]}
    early = (Call().agent("您好").caller("t1", "我家宽带断了").agent("您是说家里宽带上不了网，对吗？")
             .caller("t2", "对，从昨天开始").agent("好的，我马上为您登记。").hangup().build())
    item = grade(early, scenario(confirm)).item("confirm")
    assert item.points_earned == 20 and "相邻" in item.note
    half = (Call().agent("您好").caller("t1", "我家宽带断了").agent("您是说宽带断了。")
            .caller("t2", "对，从昨天开始").agent("好的，我马上为您登记。").hangup().build())
    assert grade(half, scenario(confirm)).item("confirm").points_earned == 0
    never = (Call().agent("您好").caller("t1", "我家宽带断了").agent("好的。")
             .caller("t2", "对，从昨天开始").agent("好的，我马上为您登记。").hangup().build())
    assert grade(never, scenario(confirm)).item("confirm").points_earned == 0


def test_a_sound_alike_impolite_expression_is_doubted_for_its_sound_not_its_confidence():
    record = Call().agent("您好").agent("那您早干嘛去冷", confidence=0.93).hangup().build()
    item = grade(record, scenario(TABOO_ITEM), taboos=TABOOS).item("taboo")
    assert item.verdict == "review" and item.points_earned == 10
    assert "读音相近" in item.note and "识别可信度" not in item.note
    mumbled = Call().agent("您好").agent("那您早干嘛去冷", confidence=0.45).hangup().build()
    note = grade(mumbled, scenario(TABOO_ITEM), taboos=TABOOS).item("taboo").note
    assert "读音相近" in note and "识别可信度0.45" in note
