"""Forms of the sitting pages."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    DecimalField,
    IntegerField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, StopValidation

from grading.rubric.totals import DECISION_LABELS

from ..labels import LEVEL_CHOICES as LEVELS
from ..localtime import LocalDateTimeField


class SittingForm(FlaskForm):
    name = StringField("批次名称", validators=[DataRequired("请填写批次名称"), Length(max=120)])
    level = SelectField("鉴定等级", choices=LEVELS, default="5")
    opens_at = LocalDateTimeField("开始时间", validators=[InputRequired("请填写开始时间")])
    closes_at = LocalDateTimeField("结束时间", validators=[InputRequired("请填写结束时间")])
    access_code = StringField("考场口令（可选）",
                              validators=[Optional(), Length(min=4, max=32, message="口令为 4–32 个字符")])
    submit = SubmitField("创建批次")


class EnrolForm(FlaskForm):
    users = SelectMultipleField("选择学员", coerce=int)
    submit = SubmitField("报名")


class RosterForm(FlaskForm):
    file = FileField("报名名单（.xlsx 或 .csv）", validators=[FileRequired("请选择文件"),
                                                       FileAllowed(["xlsx", "csv"], "只接受 .xlsx 或 .csv 文件")])
    submit = SubmitField("导入报名")


def _finite(form, field):
    # Decimal accepts NaN, sNaN and Infinity; NumberRange does not catch them all (sNaN raises on compare).
    if field.data is None or not field.data.is_finite():
        raise StopValidation("请填写 0–100 之间的分数")


class OverrideForm(FlaskForm):
    """An item's new points, or on an attitude / fatal item the assessor's decision (the service checks
    which the item needs: grading.rubric.totals.decide)."""
    item_id = StringField(validators=[DataRequired()])
    points = DecimalField("改为", places=2,
                          validators=[Optional(), _finite, NumberRange(0, 100, "请填写 0–100 之间的分数")])
    # an unknown value is refused by the service with a Chinese message (WTForms would say "Not a valid choice")
    decision = SelectField("复核结论", choices=[("", "—"), *DECISION_LABELS.items()], default="", validate_choice=False)
    deduction = DecimalField("扣分", places=2,
                             validators=[Optional(), _finite, NumberRange(0, 100, "扣分应在 0–100 之间")])
    reason = TextAreaField("理由", validators=[DataRequired("请写明理由"), Length(min=4, message="理由至少 4 个字")])
    submit = SubmitField("修改得分")


class TimeForm(FlaskForm):
    minutes = IntegerField("分钟", default=10, validators=[InputRequired(), NumberRange(1, 120)])
    reason = TextAreaField("理由", validators=[DataRequired("请写明理由"), Length(min=4, message="理由至少 4 个字")])
    submit = SubmitField("确定")


class ReasonForm(FlaskForm):
    reason = TextAreaField("理由", validators=[DataRequired("请写明理由"), Length(min=4, message="理由至少 4 个字")])
    submit = SubmitField("确定")


class AccessForm(FlaskForm):
    code = PasswordField("考场口令", validators=[DataRequired("请输入考场口令")])
    submit = SubmitField("进入考试")


class AppealForm(FlaskForm):
    call_id = StringField(validators=[DataRequired()])
    item_id = StringField(validators=[DataRequired()])
    statement = TextAreaField("申诉理由", validators=[DataRequired("请写明申诉理由"),
                                                   Length(min=10, max=2000, message="申诉理由为 10–2000 个字")])
    submit = SubmitField("提交申诉")


class AppealAnswerForm(FlaskForm):
    decision = SelectField("处理结果", choices=[("upheld", "申诉成立（改分）"), ("rejected", "申诉驳回（维持原分）")])
    points = DecimalField("新得分（申诉成立时填写）", places=2, validators=[Optional(), _finite])
    reason = TextAreaField("答复理由",
                           validators=[DataRequired("请写明答复理由"), Length(min=4, message="理由至少 4 个字")])
    submit = SubmitField("答复")
