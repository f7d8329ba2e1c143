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
])
def test_for_matching_makes_variants_equal(a, b):
    assert for_matching(a) == for_matching(b)


def test_for_matching_keeps_different_words_different():
    assert for_matching("两千元") != for_matching("二千元")   # 两 is not folded (see module docstring)
    assert for_matching("不知道") != for_matching("知道")


def test_cer():
    assert cer("您好工号1035", "您好，工号一零三五。") == 0
    assert cer("您好工号1035", "您好公号1035") == pytest.approx(1 / 8)
    assert cer("", "") == 0 and cer("", "多余") == 1
    assert cer("请稍等", "") == 1
