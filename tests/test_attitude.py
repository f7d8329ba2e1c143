"""Service attitude on every live call: impolite speech found by kind in sentences written here (not the
data file's own examples), polite speech left alone, fatal items capping the call, other flags making it
wait for the assessor."""
import pytest

from grading.attitude import find, load
from grading.rubric import PASS_MARK, grade
from scenarios import LIBRARY_DIR, load_library
from scenarios.simulate import simulate_call
from tests.rubric_helpers import Call, scenario

RUDE = [  # (sentence, kind)
    ("下回您自己看仔细点", "blame"),
    ("再不出声我就挂电话了", "reproach"),
    ("您是听不明白吗？", "reproach"),
    ("我都跟您讲了好几遍了", "reproach"),
    ("这么简单的事也不会？", "reproach"),
    ("你到底有没有在听", "reproach"),
    ("赶紧说，后面还有人排队", "command"),
    ("小声点行不行", "command"),
    ("要怪就怪您自己没看清楚", "blame"),
    ("那是您自己操作错了", "blame"),
    ("这个跟我们没关系", "shirk"),
    ("你找别的地方问吧", "shirk"),
    ("爱买不买", "refusal"),
    ("没有就是没有", "refusal"),
    ("那是你自己的事", "dismissal"),
    ("退就退呗", "dismissal"),
    ("您还真有本事。", "sarcasm"),
    ("小点声", "command"),
    ("您问题可真多", "sarcasm"),
    ("您以为您是谁啊", "sarcasm"),
    ("你脑子进水了吧", "insult"),
    ("烦死了", "impatience"),
    ("好了好了，我知道", "impatience"),
    # the kinds of the second increment, each in sentences written for this test
    ("一大早的您哭什么呀", "reproach"),
    ("您打听这么多干什么", "reproach"),
    ("这跟您有什么关系", "reproach"),
    ("您别老对我发脾气", "reproach"),
    ("您讲的是什么东西啊", "reproach"),
    ("早这样讲不就完了", "reproach"),
    ("您到底办不办", "reproach"),
    ("说话放尊重一点", "command"),
    ("你先把电视关了再说", "command"),
    ("有事说事，别绕弯子", "command"),
    ("您签合同的时候也不看一下", "blame"),
    ("本来也不是我们的问题", "shirk"),
    ("那您就找物业去吧", "shirk"),
    ("我也不清楚。", "shirk"),
    ("这事我可决定不了", "refusal"),
    ("想退就退吧", "refusal"),
    ("您骂我也没用", "dismissal"),
    ("领导不是您想见就能见的", "dismissal"),
    ("您想得倒挺美", "sarcasm"),
    ("这点小事也值得打电话", "sarcasm"),
    ("您还好意思说啊", "sarcasm"),
    ("谢谢您。您可真会算计啊", "sarcasm"),    # a 谢谢 in another sentence excuses nothing
    ("这么快谁听得清啊", "reproach"),
    ("谁有空和您开玩笑", "reproach"),
    ("我都解释三遍了", "reproach"),
    ("这事和您有关系吧", "reproach"),
    ("早这样讲不就明白了", "reproach"),
    ("不要霸着热线", "command"),
    ("一句一句地说", "command"),
    ("这个您找居委会去吧", "shirk"),
    ("您找别人说去", "shirk"),
    ("反正不能给您退的", "refusal"),
    ("您想得倒挺容易", "sarcasm"),
    ("就这么几个问题还要打电话", "sarcasm"),
    ("说话跟机关枪似的", "sarcasm"),
    ("像您这样的人我见得多了", "insult"),
    ("难道您连短信都不看吗", "reproach"),
    ("凭什么让我们赔", "reproach"),
    ("您怎么老是记不住啊", "reproach"),
    ("你给我记清楚", "reproach"),
    ("我们又不是只管您一户", "reproach"),
    ("您还想让我们上门道歉不成", "reproach"),
    ("这我上哪查去", "reproach"),
    ("欠费停机不是挺正常", "reproach"),
    ("刚才报过了您没听到啊", "reproach"),
    ("停停停", "impatience"),
    ("几点修好我说了不算", "shirk"),
    ("这事您跟他们说去", "shirk"),
    ("跟我们说其实也没什么用", "dismissal"),
    ("您说多少次也是没有的", "dismissal"),
    ("下次打电话前先把单号找清楚", "blame"),
    ("您看清楚了再打", "blame"),
    ("您说话跟打机关炮似的", "sarcasm"),
    ("我没法跟您这么耗着", "dismissal"),
]
POLITE = [
    "温馨提示您，下次办理前可以先核对一下订单信息。",
    "您好，请问能听到我说话吗？如果您不方便说话，请稍后再来电。",
    "您好，工号2046，请问有什么可以帮您？",
    "我复述一下您的问题，您是说宽带从昨天开始就上不了网，对吗？",
    "非常理解您的心情，给您添麻烦了，真的很抱歉。",
    "请您稍等片刻，我帮您查询一下，好吗？",
    "让您久等了，我查到您的账单了。",
    "麻烦您说话稍微大声一点，好吗？",
    "您别着急，慢慢说，我在听。",
    "这不是您的问题，是我们系统升级造成的。",
    "很抱歉，这项业务需要本人到营业厅办理，我把最近营业厅的地址告诉您。",
    "我们会在明天下午五点前给您回电话。",
    "请问您方便留一个联系电话吗？",
    "好的，明白了，我这就为您登记。",
    "请问还有什么可以帮您？感谢您的来电，再见。",
    "请您说慢一点，好吗？我好记下来。",
    "请问这笔扣费和您办理的业务有关系吗？",
    "您这种情况可以到营业厅办理。",
    "您可以找社区居委会去开证明。",
    "我们会给您查清楚的。",
    "我一句一句给您再讲一遍。",
    "这个问题没有想象的那么简单，我帮您问一下专业部门。",
    "难道是系统没有同步？我帮您核实一下。",
    "您是怎么操作的呢？",
    "您怎么还没收到呢，我帮您查一下。",
    "哪里哪里，这是我们应该做的。",
    "您没收到短信吗？我帮您再发一次。",
    "温馨提示您，以后付款前请看清楚再确认。",
    "建议您到营业厅问一下窗口的工作人员。",
    "您这个情况跟上次似的，我按上次的办法帮您处理。",
    "您说得对，我们会改进。",
    "您先别着急，慢慢说，有什么事我都帮您记下来。",
    "请您把手机拿近一点，好吗？",
    "这不是您的错，是我们系统的问题，非常抱歉。",
    "不知道您现在方便吗？",
    "我不太清楚这个政策，我帮您查询一下。",
    "您可以找物业协助处理，物业的电话是八八六六。",
    "我理解您很着急，换作是我也会着急的。",
    "您还知道密码吗？",
    "请问跟您一起办理的还有谁？",
    "我会尽快为您反映，一定在明天中午前答复您。",
    "您要办理的话，带上身份证就可以了。",
    "您要是想退，我来帮您办。",
    "您说的是宽带的事吧？",
    "好的，那就先这样，有问题您随时来电。",
    "我把您的情况记下来，马上反馈。",
    "您是他妈妈吧？麻烦您转告他回个电话。",
]


@pytest.mark.parametrize("sentence,kind", RUDE)
def test_impolite_speech_is_found_by_kind(sentence, kind):
    hits = find(sentence)
    assert hits and kind in {h.pattern.kind for h in hits}, (sentence, [(h.pattern.id, h.heard) for h in hits])


@pytest.mark.parametrize("sentence", POLITE)
def test_polite_speech_is_not_flagged(sentence):
    assert [h.pattern.id for h in find(sentence) if h.pattern.severity != "minor"] == []


def test_every_pattern_has_a_source_and_the_wording_to_use_instead():
    data = load()
    assert {p.severity for p in data.patterns} == {"fatal", "major", "minor"}
    assert all(p.source and p.say_instead and p.kind in data.kinds for p in data.patterns)
    assert {"reproach", "command", "blame", "shirk", "refusal", "dismissal", "sarcasm", "insult",
            "impatience"} <= {p.kind for p in data.patterns}


ITEMS = [{"id": "opening", "kind": "phrase", "label": "开头语", "points": 40, "scope": "first",
          "any_of": ["您好"]},
         {"id": "closing", "kind": "phrase", "label": "结束语", "points": 40, "scope": "last", "any_of": ["再见"]}]


def test_fatal_expression_caps_the_call_below_the_pass_mark_with_evidence():
    rec = (Call().agent("您好，工号1035。").caller("t1", "我想问一下话费")
           .agent("您是听不明白吗？我都说了两遍了。").caller("t2", "好吧").agent("再见。").hangup().build())
    res = grade(rec, scenario(*ITEMS))
    item = res.item("attitude")
    assert item.fatal and item.verdict == "fail" and res.auto_failed
    assert res.total < PASS_MARK and not res.passed
    assert item.evidence and item.evidence[0].utterance == 1 and item.evidence[0].method == "pattern"
    assert "宜说" in item.note
    d = res.to_dict()
    assert d["items"][-1]["fatal"] is True and d["auto_failed"] is True


def test_major_expression_makes_the_pass_provisional():
    rec = (Call().agent("您好，工号1035。").caller("t1", "我想问一下话费")
           .agent("快点说，要查哪个月的。").caller("t2", "上个月").agent("八十元，再见。").hangup().build())
    res = grade(rec, scenario(*ITEMS))
    assert res.item("attitude").verdict == "review" and not res.auto_failed
    assert res.passed and res.provisional


def test_polite_call_passes_outright_and_courtesy_is_checked():
    rec = (Call().agent("您好，工号1035，请问有什么可以帮您？").caller("t1", "查话费")
           .agent("好的，请您稍等。").caller("t2", "好").agent("感谢您的来电，再见。").hangup().build())
    res = grade(rec, scenario(*ITEMS))
    assert res.item("attitude").verdict == "pass" and res.passed and not res.provisional
    bare = (Call().agent("你好，1035。").caller("t1", "查话费").agent("八十块。").caller("t2", "好")
            .agent("再见。").hangup().build())
    curt = grade(bare, scenario(*ITEMS))
    note = curt.item("attitude").note
    assert "没有用“您”" in note and "礼貌用语" in note
    assert curt.passed and curt.provisional, "neither 您 nor a polite word: waits for the assessor"


def test_scenario_may_tune_attitude_not_repeat_it():
    tuned = {"id": "attitude", "kind": "attitude", "label": "服务态度", "points": 0, "off": ["command"]}
    rec = (Call().agent("您好。").caller("t1", "嗯").agent("快点说。").caller("t2", "好").agent("再见。")
           .hangup().build())
    assert grade(rec, scenario(*ITEMS)).provisional
    res = grade(rec, scenario(*ITEMS, tuned))
    assert res.item("attitude").verdict == "pass" and not res.provisional
    assert [i.id for i in res.items].count("attitude") == 1


def test_keyword_correct_but_rude_library_call_fails():
    scn = load_library(LIBRARY_DIR)["l5-consult-billing"].data
    answer = {"turns": ["您好，工号1035，很高兴为您服务。",
                        "您是想换个流量多的套餐是吧？这种事自己上网查就行了，这么简单也不会？",
                        "三十G的话七十八元的套餐就够了，流量四十G，听懂了没有？",
                        "还有什么可以帮您，没有就挂了吧。",
                        "感谢您的来电，再见。"]}
    res = grade(simulate_call(scn, answer), scn)
    assert not res.passed and res.item("attitude").fatal


def test_assessor_override_of_the_attitude_item_lifts_the_cap():
    """An override stored before assessors' decisions were recorded (no ``decision``) keeps its meaning:
    the attitude item was overruled, so the call gets back the points it earned (the stored result keeps the
    engine's verdict). Explicit decisions: tests/test_attitude_decisions.py."""
    from simulator.practical.models import PracticalCall

    rec = (Call().agent("您好，工号1035。").caller("t1", "我想问一下话费")
           .agent("您是听不明白吗？").caller("t2", "好吧").agent("再见。").hangup().build())
    d = grade(rec, scenario(*ITEMS)).to_dict()
    assert d["auto_failed"] and d["total"] < PASS_MARK
    call = PracticalCall(result=d, overrides=None)
    assert call.effective_score() < PASS_MARK
    call.overrides = {"attitude": {"points": 0.0, "by": 1, "at": "2026-12-01T20:00:00",
                                   "reason": "客户要求重复，语气平和"}}
    assert call.effective_score() == 100.0


def test_major_expression_deducts_needs_review_and_counts_as_a_taboo():
    """A major expression costs points (the documented scale) on the attitude item and is a hit of the
    scenario's 服务忌语 item in any wording; the result says why it waits for the assessor."""
    from grading.rubric.engine import MAJOR_DEDUCTION

    taboo = {"id": "taboo", "kind": "forbidden", "label": "服务忌语", "points": 10, "per_hit": 10,
             "phrases": ["有什么了不起"]}
    polite = (Call().agent("您好，工号1035。").caller("t1", "我想问一下话费")
              .agent("好的，请您稍等，上个月是八十元。").caller("t2", "好")
              .agent("感谢您的来电，再见。").hangup().build())
    rude = (Call().agent("您好，工号1035。").caller("t1", "我想问一下话费")
            .agent("您打听这么多干什么，上个月是八十元。").caller("t2", "好")
            .agent("感谢您的来电，再见。").hangup().build())
    ok = grade(polite, scenario(*ITEMS, taboo))
    res = grade(rude, scenario(*ITEMS, taboo))
    assert ok.total == 100 and not ok.provisional and ok.needs_review == []
    assert res.item("taboo").points_earned == 0 and "打听这么多干什么" in res.item("taboo").note
    # counted once: by the 服务忌语 item where the scenario has one, else by the attitude item
    assert res.item("attitude").deduction == 0 and res.total == ok.total - 10 and res.passed and res.provisional
    alone = grade(rude, scenario(*ITEMS))
    assert alone.item("attitude").deduction == MAJOR_DEDUCTION and alone.total == 100 - MAJOR_DEDUCTION
    [why] = alone.needs_review
    assert why.item == "attitude" and why.evidence[0].utterance == 1 and "打听这么多干什么" in why.evidence[0].text
    assert res.to_dict()["needs_review"][0]["evidence"][0]["method"] == "pattern"


def test_a_bare_farewell_is_not_a_closing():
    """The shared closing intent needs courtesy in the same turn (004「感谢您的来电，再见」)."""
    closing = {"id": "closing", "kind": "phrase", "label": "结束语", "points": 40, "scope": "last",
               "intent": "closing", "any_of": ["再见"]}
    for last, credited in (("好，再见。", False), ("拜拜。", False), ("不客气，祝您周末愉快，再见。", True),
                           ("给您添麻烦了，再见。", True)):
        rec = (Call().agent("您好，工号1035，请问有什么可以帮您？").caller("t1", "查话费")
               .agent("请您稍等，八十元。").caller("t2", "好").agent(last).hangup().build())
        item = grade(rec, scenario(ITEMS[0], closing)).item("closing")
        assert (item.points_earned == 40) is credited, (last, item.note)


# ---- what a recogniser makes of rude speech ---------------------------------------------------------
# Written from the recogniser's typical slips on the product voice (one syllable misheard, commas where a
# speaker paused), not from the data file.

@pytest.mark.parametrize("heard", ["那您早干嘛去呢？", "我都跟您讲过多少便了", "您到底想干什么呀",
                                   "你那边太吵了，大点生！"])
def test_an_expression_heard_one_character_off_waits_for_the_assessor(heard):
    hits = find(heard)
    assert hits, heard
    rec = (Call().agent("您好，工号1035。").caller("t1", "我想问一下话费")
           .agent(heard).caller("t2", "好吧").agent("请问还有什么可以帮您？再见。").hangup().build())
    res = grade(rec, scenario(*ITEMS))
    item = res.item("attitude")
    if all(h.near for h in hits):
        assert item.verdict == "review" and not item.fatal and "差一个字" in item.note
        assert res.provisional and not res.auto_failed, "a doubtful finding never passes or fails by itself"
    else:
        assert item.verdict in ("review", "fail")


@pytest.mark.parametrize("polite", ["您有什么事吗？", "如果是我们的工作失误，我们一定改正。", "您留个电话，好吗？",
                                    "请您稍等，我帮您查一下。"])
def test_polite_speech_is_not_near_an_impolite_expression(polite):
    assert find(polite) == [], [h.heard for h in find(polite)]


def test_a_recognisers_comma_does_not_let_thanks_excuse_sarcasm():
    # said 「谢谢，不用了。您想得还挺美」: the recogniser writes a comma, so both are one sentence
    assert [h.heard for h in find("谢谢，不用了，你想得还挺美，打热线是来办事的")] == ["想得还挺美"]
    # the polite form right beside the request still excuses it
    assert find("麻烦您大声一点，好吗？") == []


def test_thanks_run_into_the_same_clause_do_not_excuse_belittling():
    # a recogniser may write no comma at all between the thanks and what follows
    assert [h.pattern.kind for h in find("谢谢啊不过您这是想多了吧")] == ["sarcasm"]
    assert [h.pattern.kind for h in find("感谢您那么点的是也值得专门跑一趟")] == ["sarcasm"]   # 事 heard as 是
    assert find("您可真会说话，谢谢夸奖。") == []          # thanks for praise: a reply, not sarcasm
    assert find("这件事是需要您本人来办理的。") == []
