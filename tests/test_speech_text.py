"""speakable(): numbers, money, dates, times and stage directions as a Chinese caller reads them."""
import pytest

from softphone_sim.speech_text import digits, integer, speakable, stage_directions


@pytest.mark.parametrize("text, spoken", [
    # phone numbers: digit by digit, 1 read 幺
    ("我的电话是13812345678", "我的电话是幺三八幺二三四五六七八"),
    ("138 1234 5678", "幺三八幺二三四五六七八"),
    ("138-1234-5678", "幺三八幺二三四五六七八"),
    ("请拨打400-820-8820", "请拨打四零零八二零八八二零"),
    ("座机010-62345678", "座机零幺零六二三四五六七八"),
    ("(010) 62345678", "零幺零六二三四五六七八"),
    ("打了12345好几次", "打了幺二三四五好几次"),
    ("拨打10086", "拨打幺零零八六"),
    ("打95588问过", "打九五五八八问过"),
    ("赶紧打110", "赶紧打幺幺零"),
    ("尾号1234", "尾号幺二三四"),
    ("分机8021", "分机八零二幺"),
    # account, order and ID numbers: digit by digit, letters kept, 1 read 一
    ("账号A20231105", "账号A二零二三一一零五"),
    ("订单号2023110512345678", "订单号二零二三一一零五一二三四五六七八"),
    ("身份证号11010519491231002X", "身份证号一一零一零五一九四九一二三一零零二X"),
    ("验证码是056821", "验证码是零五六八二一"),
    ("单号sf1234567", "单号SF一二三四五六七"),
    # money
    ("欠费128.5元", "欠费一百二十八元五角"),
    ("¥128.50", "一百二十八元五角"),
    ("¥3.05", "三元零五分"),
    ("¥0.05", "五分"),
    ("才2元", "才两元"),
    ("2.5块", "两块五"),
    ("花了3000块", "花了三千块"),
    ("20块钱", "二十块钱"),
    ("1000000元", "一百万元"),
    ("赔了2万元", "赔了两万元"),
    # dates and times
    ("2026年3月5日", "二零二六年三月五日"),
    ("2026-03-05", "二零二六年三月五日"),
    ("2026/3/5到期", "二零二六年三月五日到期"),
    ("2026年3月", "二零二六年三月"),
    ("3月15号来的", "三月十五号来的"),
    ("下午14:30", "下午十四点三十分"),
    ("早上9:00", "早上九点整"),
    ("9:05", "九点零五分"),
    ("2:00以前", "两点整以前"),
    # percentages, fractions, decimals, counts
    ("涨了15%", "涨了百分之十五"),
    ("0.5%", "百分之零点五"),
    ("1/3的人", "三分之一的人"),
    ("2.5个小时", "二点五个小时"),
    ("等了2天", "等了两天"),
    ("2个月", "两个月"),
    ("第2次", "第二次"),
    ("我家2年级", "我家二年级"),
    ("积分有12000分", "积分有一万两千分"),
    ("还有110个", "还有一百一十个"),
    ("105", "一百零五"),
    ("5G套餐", "五G套餐"),
    # stage directions and whitespace
    ("（很小声）喂？", "喂？"),
    ("（叹气）算了【背景嘈杂】吧", "算了吧"),
    ("(sighs) 好吧", "好吧"),
    ("[哭]不要", "不要"),
    ("宽带  坏了\n三天了 ", "宽带 坏了 三天了"),
    ("", ""),
])
def test_speakable(text, spoken):
    assert speakable(text) == spoken


@pytest.mark.parametrize("n, words", [(0, "零"), (10, "十"), (15, "十五"), (20, "二十"), (105, "一百零五"),
                                      (110, "一百一十"), (200, "两百"), (1010, "一千零一十"), (2000, "两千"),
                                      (2222, "两千二百二十二"), (20000, "两万"), (30005, "三万零五"),
                                      (100010, "十万零一十"), (120000, "十二万"), (1_0000_0000, "一亿"),
                                      (2_0003_0000, "两亿零三万"), (-5, "负五")])
def test_integer(n, words):
    assert integer(n) == words


def test_digits():
    assert digits("400-820-8820") == "四零零八二零八八二零"
    assert digits("131", phone=True) == "幺三幺" and digits("131") == "一三一"
    assert digits("ab1") == "AB一"


def test_stage_directions_are_extracted():
    assert stage_directions("（很小声）喂？【背景嘈杂】(哭)") == ["很小声", "背景嘈杂", "哭"]
    assert stage_directions("没有提示") == [] and stage_directions("") == []
    assert stage_directions("区号(010)") == []          # a dialling code is not a direction


def test_speakable_leaves_no_digits_and_is_stable():
    text = "我叫张三，电话13912345678，3月5号14:30在营业厅交了128.5元，订单号A1234567，涨了15%，等了2天。"
    once = speakable(text)
    assert not any(ch.isdigit() for ch in once)
    assert speakable(once) == once
