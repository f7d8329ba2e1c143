"""Sign in, sign out, change password."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..extensions import db
from ..forms import ChangePasswordForm, LoginForm
from . import devices, sessions, throttle
from .access import login_required_any, public
from .models import User, check_dummy_password, password_problem, utcnow

bp = Blueprint("auth", __name__)


def _client_ip() -> str:
    # ProxyFix (TRUSTED_PROXIES) has already put the client's address here when proxies are trusted.
    return request.remote_addr or "unknown"


def _safe_next(target: str | None) -> str | None:
    """Only same-site paths: never send a user to another host after login."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.index"))
    form = LoginForm()
    if form.validate_on_submit():
        username = form.username.data.strip().lower()
        try:
            attempt = throttle.begin(username, _client_ip(), devices.trusted(username))
        except throttle.Locked as locked:
            minutes = max(1, (locked.seconds + 59) // 60)
            flash(f"登录失败次数过多，请 {minutes} 分钟后再试。", "error")
            return render_template("auth/login.html", form=form), 429
        user = db.session.query(User).filter_by(username=username).one_or_none()
        # An unknown name costs the same hash check as a known one: timing tells no names apart.
        ok = user.check_password(form.password.data) if user is not None else check_dummy_password(form.password.data)
        if not ok:
            throttle.failed(attempt, form.password.data)
            flash("用户名或密码错误。", "error")
            return render_template("auth/login.html", form=form), 401
        if not user.active:
            throttle.released(attempt)
            flash("该账号已停用，请联系管理员。", "error")
            return render_template("auth/login.html", form=form), 403
        throttle.succeeded(attempt)
        user.last_login_at = utcnow()
        db.session.commit()
        sessions.start(user, remember=form.remember.data)
        current_app.logger.info("login: %s", user.username)
        if user.must_change_password:
            flash("首次登录或密码已重置，请先修改密码。", "info")
            return devices.remember(redirect(url_for("auth.change_password")), username)
        return devices.remember(redirect(_safe_next(request.args.get("next")) or url_for("main.index")), username)
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required_any
def logout():
    sessions.end(current_user._get_current_object())
    flash("您已安全退出。", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required_any
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        if not current_user.check_password(form.current.data):
            form.current.errors.append("当前密码不正确")
        elif form.new.data == form.current.data:
            form.new.errors.append("新密码不能与当前密码相同")
        elif problem := password_problem(current_user, form.new.data):
            form.new.errors.append(problem)
        else:
            user = current_user._get_current_object()
            user.set_password(form.new.data)
            db.session.commit()
            # The password change ended every session of the user (other devices too); this browser
            # gets a new one.
            sessions.start(user)
            flash("密码已修改。", "success")
            return redirect(url_for("main.index"))
    return render_template("auth/change_password.html", form=form)
