"""Forms of the theory-exam pages."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, RadioField, SelectField, SubmitField
from wtforms.validators import InputRequired, NumberRange

from exams import LEVEL_NAMES, load_blueprints

LEVEL_CHOICES = [(str(level), name) for level, name in LEVEL_NAMES.items()]


class MockStartForm(FlaskForm):
    level = SelectField("鉴定等级", choices=LEVEL_CHOICES, default="5")
    submit = SubmitField("开始模拟考试")


class PracticeStartForm(FlaskForm):
    level = SelectField("等级", choices=LEVEL_CHOICES, default="5")
    area = SelectField("知识领域", default="")
    count = IntegerField("题量", default=20, validators=[InputRequired("请输入题量"),
                                                        NumberRange(5, 100, "题量为 5–100")])
    timed = BooleanField("限时（按正式考试的节奏计时）")
    feedback = RadioField("解析方式", choices=[("immediate", "每题作答后立即查看解析"), ("end", "交卷后统一查看")],
                          default="immediate")
    submit = SubmitField("开始练习")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.area.choices = [("", "全部领域")] + list(load_blueprints().areas.items())


class SubmitPaperForm(FlaskForm):
    submit = SubmitField("确认交卷")
