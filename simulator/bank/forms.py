"""Forms of the trainer's question-bank pages."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import HiddenField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from exams import LEVEL_NAMES, load_blueprints
from exams.question_bank import SOURCES


class QuestionForm(FlaskForm):
    area = SelectField("知识领域")
    level = SelectField("等级", choices=[(str(k), v) for k, v in LEVEL_NAMES.items()])
    qtype = SelectField("题型")
    difficulty = SelectField("难度", choices=[("1", "1 易"), ("2", "2 中"), ("3", "3 难")], default="2")
    stem = TextAreaField("题干", validators=[DataRequired("请填写题干"), Length(max=2000)])
    option_a = StringField("选项 A", validators=[Optional(), Length(max=500)])
    option_b = StringField("选项 B", validators=[Optional(), Length(max=500)])
    option_c = StringField("选项 C", validators=[Optional(), Length(max=500)])
    option_d = StringField("选项 D", validators=[Optional(), Length(max=500)])
    option_e = StringField("选项 E（多选题可用）", validators=[Optional(), Length(max=500)])
    answer = StringField("正确答案", description="单选填一个字母；多选填多个字母如 ACD；判断题填“正确”或“错误”",
                         validators=[DataRequired("请填写正确答案"), Length(max=10)])
    explanation = TextAreaField("解析", validators=[DataRequired("请填写解析"), Length(max=2000)])
    source = SelectField("依据文献", choices=[(s, s) for s in SOURCES])
    submit = SubmitField("保存")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        blueprints = load_blueprints()
        self.area.choices = list(blueprints.areas.items())
        self.qtype.choices = list(blueprints.types.items())

    def options(self) -> dict[str, str]:
        fields = {"A": self.option_a, "B": self.option_b, "C": self.option_c, "D": self.option_d, "E": self.option_e}
        return {letter: f.data.strip() for letter, f in fields.items() if f.data and f.data.strip()}


class BankImportForm(FlaskForm):
    file = FileField("题库文件", validators=[FileRequired("请选择文件"),
                                          FileAllowed(["xlsx", "yaml", "yml"], "只支持 .xlsx 或 .yaml 文件")])
    submit = SubmitField("导入")


class RelabelDifficultyForm(FlaskForm):
    """Confirms the difficulty re-labelling the preview showed; ``basis`` names that preview, so that
    papers submitted in between do not change what the trainer confirmed unseen."""
    basis = HiddenField(validators=[DataRequired("请先查看标定预览")])
    submit = SubmitField("确认按作答数据重新标定难度")
