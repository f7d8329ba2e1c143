"""All web forms (Flask-WTF: every form carries a CSRF token)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, PasswordField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, EqualTo, InputRequired, Length, Optional, Regexp

from .auth.models import MIN_PASSWORD_LENGTH, Role

ROLE_CHOICES = [(r.value, r.label) for r in Role]


class RequiredMessages:
    """Puts each required field's own Chinese message in ``data-required-message``, so that
    static/js/validity.js shows it instead of the browser's English tooltip."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for f in self:
            message = next((v.message for v in f.validators
                            if isinstance(v, (DataRequired, InputRequired, FileRequired)) and v.message), None)
            if message:
                f.render_kw = {**(f.render_kw or {}), "data-required-message": message}


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=256)])
    remember = BooleanField("在本机保持登录")
    submit = SubmitField("登录")


class ChangePasswordForm(FlaskForm):
    current = PasswordField("当前密码", validators=[DataRequired("请输入当前密码")])
    new = PasswordField("新密码", validators=[
        DataRequired("请输入新密码"),
        Length(min=MIN_PASSWORD_LENGTH, max=128, message=f"至少 {MIN_PASSWORD_LENGTH} 位")])
    confirm = PasswordField("再次输入新密码", validators=[EqualTo("new", "两次输入的新密码不一致")])
    submit = SubmitField("修改密码")


class UserCreateForm(RequiredMessages, FlaskForm):
    username = StringField("用户名", validators=[
        DataRequired("请输入用户名"),
        Regexp(r"^[A-Za-z0-9_.@-]{3,64}$", message="只能包含字母、数字和 _ . @ -，长度 3–64")])
    display_name = StringField("姓名", validators=[DataRequired("请输入姓名"), Length(max=64)])
    role = SelectField("角色", choices=ROLE_CHOICES, default=Role.TRAINEE.value)
    organisation = StringField("单位 / 班组", validators=[Optional(), Length(max=128)])
    password = PasswordField("初始密码", validators=[
        DataRequired("请输入初始密码"),
        Length(min=MIN_PASSWORD_LENGTH, max=128, message=f"至少 {MIN_PASSWORD_LENGTH} 位")])
    submit = SubmitField("创建账号")


class UserEditForm(RequiredMessages, FlaskForm):
    display_name = StringField("姓名", validators=[DataRequired("请输入姓名"), Length(max=64)])
    role = SelectField("角色", choices=ROLE_CHOICES)
    organisation = StringField("单位 / 班组", validators=[Optional(), Length(max=128)])
    submit = SubmitField("保存")


class ConfirmForm(FlaskForm):
    """A bare form for POST-only actions (enable, disable, reset password): just the CSRF token."""
    submit = SubmitField("确定")


class UserImportForm(RequiredMessages, FlaskForm):
    file = FileField("名单文件", validators=[
        FileRequired("请选择文件"), FileAllowed(["xlsx", "csv"], "只支持 .xlsx 或 .csv 文件")])
    submit = SubmitField("导入")
