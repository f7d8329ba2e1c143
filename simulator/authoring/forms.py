"""Forms of the scenario authoring pages."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from scenarios.labels import LEVEL_LABELS, SITUATION_LABELS
from softphone_sim import PERSONAS


class ScenarioFieldsForm(FlaskForm):
    """The common fields as a form; everything else is edited in the YAML view."""
    title = StringField("标题", validators=[DataRequired("请填写标题"), Length(max=200)])
    level = SelectField("等级", choices=[(str(k), v) for k, v in LEVEL_LABELS.items()])
    situation = SelectField("情境类型", choices=list(SITUATION_LABELS.items()))
    difficulty = SelectField("难度", choices=[("1", "1 易"), ("2", "2 中"), ("3", "3 难")])
    brief = TextAreaField("给学员的说明", validators=[DataRequired("请填写说明")])
    agent_number = StringField("坐席工号", validators=[Length(max=12)])
    voice = SelectField("来电者声音")
    line = StringField("线路条件", description="如 none、noisy:snr=5、telephone+low_volume")
    save_fields = SubmitField("保存表单")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.voice.choices = [(name, f"{name}（{p.label}）") for name, p in PERSONAS.items()]


class ScenarioYamlForm(FlaskForm):
    yaml_text = TextAreaField("场景 YAML", validators=[DataRequired("内容不能为空")])
    save_yaml = SubmitField("保存 YAML")


class ScenarioImportForm(FlaskForm):
    file = FileField("场景文件（.yaml 或 .zip）", validators=[
        FileRequired("请选择文件"), FileAllowed(["yaml", "yml", "zip"], "只接受 .yaml、.yml 或 .zip 文件")])
    submit = SubmitField("导入")
