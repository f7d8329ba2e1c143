"""Forms of the practical-exam pages (the call itself talks JSON with the CSRF token in a header)."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SubmitField


class StartCallForm(FlaskForm):
    submit = SubmitField("开始通话")
