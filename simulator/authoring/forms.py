"""Forms of the scenario authoring pages."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Regexp

from scenarios.labels import LEVEL_LABELS, SITUATION_LABELS
from softphone_sim import PERSONAS


class ScenarioFieldsForm(FlaskForm):
    """The common fields as a form; everything else is edited in the YAML view."""
    title = StringField("标题", validators=[DataRequired("请填写标题"), Length(max=200, message="标题不超过 200 个字")])
    level = SelectField("等级", choices=[(str(k), v) for k, v in LEVEL_LABELS.items()])
    situation = SelectField("情境类型", choices=list(SITUATION_LABELS.items()))
    difficulty = SelectField("难度", choices=[("1", "1 易"), ("2", "2 中"), ("3", "3 难")])
    brief = TextAreaField("给学员的说明", validators=[DataRequired("请填写说明")])
    agent_number = StringField("坐席工号", validators=[Length(max=12, message="工号不超过 12 位")])
    voice = SelectField("来电者声音")
    line = SelectField("线路条件")
    save_fields = SubmitField("保存表单")

    def __init__(self, *args, current_line: str = "none", **kwargs):
        super().__init__(*args, **kwargs)
        self.voice.choices = [(name, p.label) for name, p in PERSONAS.items()]
        self.line.choices = line_choices(current_line)


# the line conditions trainers pick from (combinations as the simulator accepts them: a+b, name:param=value)
LINE_PRESETS = ["none", "telephone", "low_volume", "noisy", "speakerphone", "dropouts", "silent",
                "telephone+low_volume", "telephone+noisy", "noisy:snr=5"]


def line_label(spec: str) -> str:
    from softphone_sim.line import LABELS
    parts = []
    for part in spec.split("+"):
        name, _, params = part.partition(":")
        label = LABELS.get(name.strip(), name.strip())
        parts.append(f"{label}（{params.replace('snr=', '信噪比 ').replace('db=', '音量 ')}）" if params else label)
    return " + ".join(parts)


def line_choices(current: str = "none") -> list[tuple[str, str]]:
    choices = [(spec, line_label(spec)) for spec in LINE_PRESETS]
    if current and current not in LINE_PRESETS:       # a spec written in YAML stays selectable as it is
        choices.append((current, f"{line_label(current)}（YAML 中设置）"))
    return choices


class NewScenarioForm(ScenarioFieldsForm):
    """A new scenario's common fields; the rest comes from the starting template (editable as YAML)."""
    scenario_id = StringField("场景编号（id）", validators=[
        DataRequired("请填写场景编号"),
        Regexp(r"^[a-z0-9][a-z0-9-]{2,79}$",
               message="场景编号只能用小写字母、数字和连字符，3–80 个字符，如 l5-billing-query")])
    save_fields = SubmitField("按表单创建")


class ScenarioYamlForm(FlaskForm):
    yaml_text = TextAreaField("场景 YAML", validators=[DataRequired("内容不能为空")])
    save_yaml = SubmitField("保存 YAML")
    check_yaml = SubmitField("只检查，不保存")


class ScenarioImportForm(FlaskForm):
    file = FileField("场景文件（.yaml 或 .zip）", validators=[
        FileRequired("请选择文件"), FileAllowed(["yaml", "yml", "zip"], "只接受 .yaml、.yml 或 .zip 文件")])
    submit = SubmitField("导入")
