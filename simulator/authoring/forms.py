"""Forms of the scenario authoring pages."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Regexp

from scenarios.labels import LEVEL_LABELS, SITUATION_LABELS, TASK_LABELS

from ..forms import RequiredMessages
from .wording import DIFFICULTY_WORDS, DIRECTION_WORDS, line_choices, voice_choices


class ScenarioFieldsForm(RequiredMessages, FlaskForm):
    """The common fields as a form; everything else is edited in the YAML view."""
    title = StringField("标题", validators=[DataRequired("请填写标题"), Length(max=200)])
    level = SelectField("等级", invalid_choice_message="请选择等级",
                        choices=[(str(k), v) for k, v in LEVEL_LABELS.items()])
    situation = SelectField("情境类型", invalid_choice_message="请选择情境类型",
                            choices=list(SITUATION_LABELS.items()))
    difficulty = SelectField("难度", invalid_choice_message="请选择难度",
                             choices=[(str(k), f"{k} {v}") for k, v in DIFFICULTY_WORDS.items()])
    brief = TextAreaField("给学员的说明", validators=[DataRequired("请填写说明")])
    agent_number = StringField("坐席工号", validators=[Length(max=12)])
    voice = SelectField("来电者声音", invalid_choice_message="请选择来电者声音")
    line = SelectField("线路条件", invalid_choice_message="请从列表中选择线路条件")
    save_fields = SubmitField("保存表单")
    check_fields = SubmitField("只检查不保存")

    def __init__(self, *args, line: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.voice.choices = voice_choices()
        # A scenario written with other parameters keeps its value as one more choice.
        self.line.choices = line_choices(line)


class NewScenarioForm(ScenarioFieldsForm):
    """A new scenario: the common fields, and the rest (script, rubric, answers) as YAML."""
    id = StringField("场景编号", validators=[
        DataRequired("请填写场景编号"),
        Regexp(r"^[a-z0-9][a-z0-9-]{1,79}$", message="只能用小写字母、数字和 -，如 l5-new-call")],
        description="小写字母、数字和 -，在场景库中唯一，以后不能修改")
    task = SelectField("任务类型", invalid_choice_message="请选择任务类型", choices=list(TASK_LABELS.items()))
    direction = SelectField("呼叫方向", invalid_choice_message="请选择呼入或外呼",
                            choices=list(DIRECTION_WORDS.items()))
    yaml_text = TextAreaField("其余内容（YAML）", validators=[DataRequired("请填写其余内容")])
    save_fields = SubmitField("保存")


class ScenarioYamlForm(RequiredMessages, FlaskForm):
    yaml_text = TextAreaField("场景 YAML", validators=[DataRequired("内容不能为空")])
    save_yaml = SubmitField("保存 YAML")
    check_yaml = SubmitField("只检查不保存")


class ScenarioImportForm(RequiredMessages, FlaskForm):
    file = FileField("场景文件（.yaml 或 .zip）", validators=[
        FileRequired("请选择文件"), FileAllowed(["yaml", "yml", "zip"], "只接受 .yaml、.yml 或 .zip 文件")])
    submit = SubmitField("导入")
