import pytest

from grading import cer, for_matching, normalize_transcript


@pytest.mark.parametrize("raw, shown", [
    ("您好，工號１０３５，很高興為您服務 .", "您好，工号1035，很高兴为您服务。"),
    ("请 您 稍 等", "请您稍等"),
    ("好的 , 谢谢 !", "好的，谢谢！"),
    ("  hello  world  ", "hello world"),
    ("什麼?", "什么？"),
])
def test_normalize_transcript(raw, shown):
    assert normalize_transcript(raw) == shown


@pytest.mark.parametrize("a, b", [
    ("您好，工号1035。", "您好 工號一零三五"),
    ("工号幺零三五", "工号1035"),
    ("ABC 套餐", "abc套餐"),
    ("请您稍等！", "請您稍等"),
    # a number read out with place words and the same number in digits
    ("我是一千零三十五号", "我是1035号"),
    ("每月费用是一百二十元", "每月费用是120元"),
    ("十五秒", "15秒"),
    ("三十一天", "31天"),
    ("两千元", "2000元"),
    ("一千零五", "1005"),
])
def test_for_matching_makes_variants_equal(a, b):
    assert for_matching(a) == for_matching(b)


def test_for_matching_keeps_different_words_different():
    assert for_matching("两小时") != for_matching("二小时")   # 两 on its own is not folded (see module docstring)
    assert for_matching("十分感谢") == "十分感谢"               # "very", not the number ten
    assert for_matching("百分之十") == "百分之十" and for_matching("万一") == "万一"
    assert for_matching("一千零三十五") != for_matching("一千零三十四")
    assert for_matching("不知道") != for_matching("知道")


def test_cer():
    assert cer("您好工号1035", "您好，工号一零三五。") == 0
    assert cer("您好工号1035", "您好公号1035") == pytest.approx(1 / 8)
    assert cer("", "") == 0 and cer("", "多余") == 1
    assert cer("请稍等", "") == 1


@pytest.mark.parametrize("heard, meant", [
    ("工号一切零三十五", "工号1035"),       # 千 heard as 切
    ("订单二切零六", "订单2006"),
    ("房间三白零九", "房间309"),            # 百 heard as 白
    ("三前零八号", "3008号"),
])
def test_a_place_word_heard_as_a_sound_alike_still_reads_as_the_number(heard, meant):
    from grading.textnorm import repair_heard_numbers
    assert for_matching(heard) == for_matching(meant)
    assert len(repair_heard_numbers(heard)) == len(heard)          # positions of the evidence stay


@pytest.mark.parametrize("text", ["一切零食都在这里", "一切都好", "我们一起去", "三班零点下班", "二百零五"])
def test_words_that_only_look_like_a_misheard_number_are_left_alone(text):
    from grading.textnorm import repair_heard_numbers
    assert repair_heard_numbers(text) == text
