"""ASR-tolerant Chinese phrase matching of the rubric engine (grading.rubric.matching)."""
import pytest

from grading.rubric import CREDIT_THRESHOLD, REVIEW_THRESHOLD, find_forbidden, match_intent, match_phrase
from grading.rubric.matching import SHORT_PHRASE_LEN, credit_threshold


def test_thresholds_are_ordered():
    assert 0 < REVIEW_THRESHOLD < CREDIT_THRESHOLD < 1
    assert credit_threshold("稍等") == 1.0 and SHORT_PHRASE_LEN == 2
    assert credit_threshold("请您稍等") == CREDIT_THRESHOLD


@pytest.mark.parametrize("heard, phrase", [
    ("您好，工號１０３５，很高興為您服務。", "工号1035"),        # traditional, full-width digits
    ("工号幺零三五", "工号1035"),                              # 幺 for one
    ("请您 稍等！", "请您稍等"),                               # spaces and punctuation
])
def test_exact_after_normalisation(heard, phrase):
    m = match_phrase(heard, phrase)
    assert m is not None and m.method == "exact" and m.similarity == 1.0 and m.credited


# (heard by the ASR, required phrase, method, measured similarity)
ASR_ERRORS = [
    ("您好公号1035很高心为您服务", "您好工号幺零三五很高兴为您服务", "pinyin", 0.967),   # 公/工 gong, 心/兴 fuzzy
    ("请稍登", "请稍等", "pinyin", 1.0),
    ("我是公号1035", "工号1035", "pinyin", 1.0),
    ("感谢您的耐心等代", "感谢您的耐心等待", "pinyin", 1.0),
    ("很高兴为您服物", "很高兴为您服务", "pinyin", 1.0),
    ("请问还有什么可以帮你的吗", "还有什么可以帮您", "fuzzy", 0.875),               # 你/您: one character
    ("有什么可以帮您", "还有什么可以帮您", "fuzzy", 0.875),                          # one character dropped
    ("请您少等一下", "请您稍等", "pinyin", 1.0),
    ("您好公号1035很开心为您服务", "您好工号1035很高兴为您服务", "pinyin", 0.9),       # chars alone: 0.8
]


@pytest.mark.parametrize("heard, phrase, method, similarity", ASR_ERRORS)
def test_required_phrase_survives_asr_errors(heard, phrase, method, similarity):
    m = match_phrase(heard, phrase)
    assert m is not None
    assert m.credited, m
    assert m.method == method
    assert m.similarity == pytest.approx(similarity, abs=0.001)


def test_match_span_points_at_the_heard_text():
    m = match_phrase("好的，请您少等一下，我帮您查询", "请您稍等")
    assert (m.start, m.end, m.heard) == (2, 6, "请您少等")


def test_wrong_digit_is_review_band_not_credit():
    m = match_phrase("您好工号一零三四", "工号1035")
    assert m is not None and not m.credited
    assert REVIEW_THRESHOLD <= m.similarity < CREDIT_THRESHOLD
    assert m.similarity == pytest.approx(0.833, abs=0.001)
    assert m.heard == "工号一零三四"      # a substitution, not a dropped character


@pytest.mark.parametrize("heard, phrase", [
    ("今天天气不错", "还有什么可以帮您"),
    ("您好", "您好工号1035很高兴为您服务"),
    ("", "您好"),
    ("您好", ""),
])
def test_unrelated_or_empty_is_no_match(heard, phrase):
    assert match_phrase(heard, phrase) is None


def test_short_phrases_need_exact_or_homophone():
    assert match_phrase("您先少等", "稍等").credited           # shao deng = shao deng
    assert match_phrase("你好，请讲", "您好") is None         # ni ≠ nin, and half the phrase is wrong
    assert match_phrase("请您稍候", "稍等") is None
    # a three-character phrase with one sound-alike slip is review, one unrelated slip is nothing
    assert match_phrase("请问您贵姓", "您贵性").credited       # xing = xing
    assert match_phrase("请问您什么事", "您贵姓") is None


def test_match_intent_picks_the_best_credited_phrase():
    phrases = ["麻烦您大声一点", "请您大点声", "听不清您的声音"]
    m = match_intent("喂您好，我这边听不清你的声音，请您大点声好吗", phrases)
    assert m is not None and m.phrase == "请您大点声" and m.method == "exact"
    m = match_intent("麻烦您大生一点", phrases)
    assert m.phrase == "麻烦您大声一点" and m.method == "pinyin"
    assert match_intent("好的我帮您查一下", phrases) is None
    assert match_intent("", phrases) is None
    # review-band similarity never selects a branch
    assert match_intent("工号一零三四", ["工号1035"]) is None
    # placeholders are filled from values; without a value the phrase is skipped
    filled = match_intent("您好，工号1035", ["工号{agent_number}"], values={"agent_number": "1035"})
    assert filled.heard == "工号一零三五"
    assert match_intent("您好，工号1035", ["工号{agent_number}"]) is None


def test_matching_is_deterministic():
    a = [match_phrase("您好公号1035很高心为您服务", "您好工号幺零三五很高兴为您服务") for _ in range(3)]
    assert a[0] == a[1] == a[2]


# ---- forbidden phrases -------------------------------------------------------------------------------

# Similar text that is NOT the forbidden phrase: never reported (neither a hit nor a review flag).
# The last column is the best approximate similarity the required-phrase matcher finds — high for some
# (布置到 sounds exactly like 不知道; 行不行 contains 不行), which is why forbidden phrases do not use it.
NOT_FORBIDDEN = [
    ("好的，我知道了", "不知道", 0.667),
    ("没问题，我马上帮您办理", "没办法", 0.333),
    ("我们会在规定的时间内给您回复", "这是规定", 0.5),
    ("您看这样行不行", "不行", 1.0),                       # A-not-A question
    ("不知道您现在方便接听电话吗", "不知道", 1.0),          # the polite outbound opening
    ("如果您不清楚的话，我再给您说一遍", "不清楚", 1.0),    # the customer is the subject
    ("我们已经布置到位了", "不知道", 1.0),                  # bu zhi dao, different words
    ("喂，您好，请问有什么可以帮您", "喂喂", None),
    ("您的意见我会转达给领导", "有意见找领导去", 0.286),
    ("我一定想办法帮您解决", "没办法", 0.667),
    ("这件事不管怎样我都会跟进", "不关我的事", 0.4),
    ("您能不能再说一遍", "不能", 1.0),
    ("您看可不可以明天再来办理", "不可以", 1.0),
    ("明白了，我这就帮您查", "明明就是你不对", 0.143),
    ("您问的问题我帮您问一下同事", "你问我我问谁", 0.333),
    ("我们一向都很重视您的意见", "我们一向都是这样的", 0.556),
    ("您说的是哪一项业务呢", "没有这项业务就是没有", 0.3),
    ("有什么可以帮您", "有什么了不起", 0.5),
    ("我帮您查一下，麻烦您稍等", "没法查", 0.333),
]


@pytest.mark.parametrize("heard, phrase, approx", NOT_FORBIDDEN)
def test_forbidden_phrase_never_invented(heard, phrase, approx):
    assert find_forbidden(heard, phrase) == []
    m = match_phrase(heard, phrase, min_similarity=0)
    if approx is None:
        assert m is None
    else:
        assert m.similarity == pytest.approx(approx, abs=0.001)


# The forbidden phrase really said: reported, exact, at the right place.
FORBIDDEN_SAID = [
    ("我不知道", "不知道", 1),
    ("我不知道您说的是什么", "不知道", 1),      # 我 before 不知道您…: a real refusal
    ("喂，喂，听得到吗", "喂喂", 1),
    ("这是规定，不能退就是不能退", "这是规定", 1),
    ("不行就是不行", "不行", 2),
    ("你问我，我问谁？", "你问我我问谁", 1),
    ("没法查！没办法！", "没办法", 1),
    ("您不会用就别用了", "不会用就别用", 1),    # 您 before a whole taboo sentence does not excuse it
]


@pytest.mark.parametrize("heard, phrase, count", FORBIDDEN_SAID)
def test_forbidden_phrase_said_is_reported(heard, phrase, count):
    hits = find_forbidden(heard, phrase)
    assert len(hits) == count
    assert all(h.method == "exact" and h.similarity == 1.0 for h in hits)


def test_forbidden_hit_span():
    (hit,) = find_forbidden("好的，我不知道您说的是什么", "不知道")
    assert (hit.start, hit.end, hit.heard) == (3, 6, "不知道")


def test_customer_subject_rule_only_for_bare_negations():
    # "您不…" exempts only short phrases that are themselves a bare negation (不知道, 不清楚)
    assert find_forbidden("您不知道的话可以问我", "不知道") == []
    assert len(find_forbidden("您不会用就别用了", "不会用就别用")) == 1


def test_forbidden_homophone_is_review_evidence_only():
    (hit,) = find_forbidden("有意见找领到去", "有意见找领导去")
    assert hit.method == "pinyin" and hit.similarity == pytest.approx(0.857, abs=0.001)
    # short phrases: no homophone evidence at all
    assert find_forbidden("我们已经布置到位了", "不知道") == []
    # two characters off is not near-exact
    assert find_forbidden("有意见找零到去", "有意见找领导去") == []


# ---- real recognition output -----------------------------------------------------------------------

# Whisper-base (faster-whisper, int8) transcripts of standard service phrases spoken by the product's
# Mandarin caller voice, rendered clean, with noise at 5 dB SNR, and through a telephone band at low
# volume (benchmarks/service_phrases.txt). (condition, phrase, transcript, similarity, verdict band).
WHISPER = [
    ("clean", "您好，工号一零三五，很高兴为您服务。", "您好功耗1035很高兴为您服务于。", 1.0, "credit"),
    ("clean", "请您稍等，我马上为您查询。", "请您收等我马上为您查询。", 0.909, "credit"),
    ("clean", "感谢您的来电，再见。", "感谢您的来天再见。", 0.875, "credit"),
    ("clean", "非常抱歉给您带来不便，我理解您的心情。", "非常抱歉给您带来不便我立见您的心情。", 0.941, "credit"),
    ("clean", "我是客户服务中心的回访专员，工号一零三五。", "我是客户服务中心的回访专员公号1035。", 1.0, "credit"),
    ("clean", "请您核对一下您的身份证号码好吗？", "请您和对一下您的身份正好骂好吗？。", 1.0, "credit"),
    ("clean", "耽误您两分钟时间可以吗？", "耽误你两分钟时间可以吗？。", 0.909, "credit"),
    ("noisy", "您好，工号一零三五，很高兴为您服务。", "您好，光泡1035，很高兴为您服务。", 0.867, "credit"),
    ("noisy", "感谢您的耐心等待。", "感谢您的脉心等待。", 0.875, "credit"),
    ("noisy", "我现在为您转接到相关部门，请您不要挂机。", "我现在为您转接到相关部门请您不要刮击。", 1.0, "credit"),
    ("noisy", "您反映的问题我已经详细记录下来了。", "您反映都论提我已经详细进攻下来了。", 0.75, "review"),
    ("noisy", "非常感谢您提出的宝贵建议。", "非常感谢您提出的宝贝坚鱼。", 0.833, "review"),
    ("noisy", "我是客户服务中心的回访专员，工号一零三五。", "我是客户服务中心的回访专联工套103路。", 0.842, "review"),
    ("noisy", "很抱歉，相关部门的电话暂时无人接听。", "很抱歉相关顾门的电话在15元阶梯。", 0.688, "missed"),
    ("phone", "请问还有什么可以帮您的吗？", "请问还有什么可以帮你的妈。", 0.917, "credit"),
    ("phone", "很抱歉让您久等了。", "很抱歉让您久等门。", 0.875, "credit"),
    ("phone", "我的工号是一零三五，如有服务不周，欢迎您批评指正。",
     "我的功耗是1035左右，服务不周欢迎您批批批证。", 0.864, "credit"),
    ("phone", "您好，您的电话已接通，请讲。", "您好您的电话已经通信讲。", 0.818, "review"),
    # an amount read out (一百二十) and the recogniser's digits (120) normalise alike
    ("phone", "您的宽带套餐每月费用是一百二十元。", "您的宽待炮餐每月费用是120元。", 0.933, "credit"),
    ("phone", "您好，工号一零三五，很高兴为您服务。", "以后功后一连三无恒搞成为你苦恶。", 0.433, "missed"),
]


@pytest.mark.parametrize("condition, phrase, heard, similarity, band", WHISPER)
def test_real_whisper_output(condition, phrase, heard, similarity, band):
    m = match_phrase(heard, phrase, min_similarity=0)
    assert m.similarity == pytest.approx(similarity, abs=0.001)
    got = "credit" if m.credited else ("review" if m.similarity >= REVIEW_THRESHOLD else "missed")
    assert got == band


def test_real_whisper_output_never_holds_a_forbidden_phrase():
    taboos = ["喂喂", "不知道", "不行", "你问我我问谁", "没法查", "没办法", "有意见找领导去", "有什么了不起",
              "明明就是你不对", "你有完没完", "不会用就别用", "这是规定", "我们一向都是这样的", "不关我的事", "办不了",
              "我不清楚", "大声点我听不清"]
    for _, _, heard, _, _ in WHISPER:
        for taboo in taboos:
            assert find_forbidden(heard, taboo) == [], (heard, taboo)


def test_a_number_read_out_is_credited_and_its_evidence_points_at_the_words():
    from grading.rubric.matching import normalise_with_map
    heard = "我是一千零三十五号"                       # how Whisper writes the product voice's "1035号"
    m = match_phrase(heard, "1035号")
    assert m.method == "exact" and m.credited
    norm, mapping = normalise_with_map(heard)
    assert norm == "我是一零三五号" and mapping is not None
    assert heard[mapping[m.start]:mapping[m.end - 1] + 1] == "一千零三十五号"
    assert not match_phrase("我是一千零三十四号", "1035号").credited


def test_a_digit_heard_as_a_sound_alike_word_is_half_an_error_but_a_wrong_digit_is_whole():
    heard_as_word = match_phrase("您的报修单号三零一班，请记好", "单号三零一八")   # 八 ba heard as 班 ban
    wrong_digit = match_phrase("您的报修单号三零一九，请记好", "单号三零一八")
    assert heard_as_word is not None and wrong_digit is not None
    assert heard_as_word.similarity > wrong_digit.similarity
    assert heard_as_word.credited and not wrong_digit.credited
    assert match_phrase("工号幺零三四", "工号一零三五").credited is False
    assert match_phrase("一不小心", "一二三四") is None                     # words are not digits
