from __future__ import annotations

import io
from pathlib import Path

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from ..auth import importer
from ..auth.access import roles_required
from ..auth.models import Role, User
from ..extensions import db
from ..forms import ConfirmForm, UserCreateForm, UserEditForm, UserImportForm
from . import password_sheets

bp = Blueprint("admin", __name__, url_prefix="/admin")
PAGE_SIZE = 50


def _user_or_404(user_id: int) -> User:
    return db.session.get(User, user_id) or abort(404)


@bp.route("/users")
@roles_required(Role.ADMIN)
def users():
    query = db.select(User).order_by(User.role, User.username)
    search = request.args.get("q", "").strip()
    role = request.args.get("role", "")
    if search:
        like = f"%{search}%"
        query = query.where(db.or_(User.username.ilike(like), User.display_name.ilike(like),
                                   User.organisation.ilike(like)))
    if role in {r.value for r in Role}:
        query = query.where(User.role == role)
    page = db.paginate(query, per_page=PAGE_SIZE, error_out=False)
    return render_template("admin/users.html", page=page, q=search, role=role, roles=list(Role),
                           action_form=ConfirmForm())


@bp.route("/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def user_new():
    form = UserCreateForm()
    if form.validate_on_submit():
        username = form.username.data.strip().lower()
        if db.session.query(User.id).filter_by(username=username).first():
            form.username.errors.append("该用户名已存在")
        else:
            user = User(username=username, display_name=form.display_name.data.strip(),
                        role=form.role.data, organisation=(form.organisation.data or "").strip())
            user.set_password(form.password.data, temporary=True)
            db.session.add(user)
            db.session.commit()
            flash(f"已创建账号 {user.username}（{user.role_label}），首次登录需修改密码。", "success")
            return redirect(url_for("admin.users"))
    return render_template("admin/user_new.html", form=form)


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def user_edit(user_id: int):
    user = _user_or_404(user_id)
    form = UserEditForm(obj=user)
    if form.validate_on_submit():
        if user.id == current_user.id and form.role.data != Role.ADMIN.value:
            form.role.errors.append("不能取消自己的管理员角色")
        else:
            user.display_name = form.display_name.data.strip()
            user.role = form.role.data
            user.organisation = (form.organisation.data or "").strip()
            db.session.commit()
            flash("已保存。", "success")
            return redirect(url_for("admin.user_edit", user_id=user.id))
    return render_template("admin/user_edit.html", user=user, form=form, action_form=ConfirmForm())


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@roles_required(Role.ADMIN)
def user_toggle_active(user_id: int):
    user = _user_or_404(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if user.id == current_user.id:
        flash("不能停用自己的账号。", "error")
    elif user.active:
        user.disable()
        db.session.commit()
        flash(f"已停用 {user.username}，其登录会话已失效。", "success")
    else:
        user.active = True
        db.session.commit()
        flash(f"已启用 {user.username}。", "success")
    return redirect(request.referrer or url_for("admin.users"))


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
@roles_required(Role.ADMIN)
def user_reset_password(user_id: int):
    user = _user_or_404(user_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    temporary = importer.generate_password()
    user.set_password(temporary, temporary=True)
    db.session.commit()
    return render_template("admin/password_reset.html", user=user, temporary=temporary)


@bp.route("/users/import", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def users_import():
    form = UserImportForm()
    result = file_error = sheet_token = None
    if form.validate_on_submit():
        upload = form.file.data
        try:
            rows = importer.read_rows(upload.filename, upload.read())
            result = importer.import_users(rows)
        except importer.ImportFileError as exc:
            file_error = str(exc)
        if result is not None and result.ok:
            flash(f"成功导入 {len(result.created)} 个账号。", "success")
            generated = [(username, name, pw) for username, name, pw in result.created if pw]
            if generated:
                sheet_token = password_sheets.store(_sheets_dir(), current_user.id, generated)
    status = 422 if (file_error or (result and not result.ok)) else 200
    return render_template("admin/users_import.html", form=form, result=result, file_error=file_error,
                           sheet_token=sheet_token, sheet_minutes=_sheet_minutes(),
                           download_form=ConfirmForm(prefix="dl")), status


def _sheets_dir() -> Path:
    return Path(current_app.config["IMPORT_PASSWORDS_DIR"])


def _sheet_minutes() -> float:
    return current_app.config["IMPORT_PASSWORDS_MINUTES"]


@bp.route("/users/import/passwords/<token>", methods=["POST"])
@roles_required(Role.ADMIN)
def users_import_passwords(token: str):
    """The temporary passwords of an import, once (POST with CSRF, so no prefetch can consume them)."""
    if not ConfirmForm(prefix="dl").validate_on_submit():
        abort(400)
    fmt = request.form.get("format", "xlsx")
    if fmt not in ("xlsx", "csv"):
        abort(400)
    rows = password_sheets.take(_sheets_dir(), token, current_user.id, _sheet_minutes() * 60)
    if rows is None:
        return render_template("admin/passwords_gone.html", minutes=_sheet_minutes()), 410
    if fmt == "xlsx":
        data, mime = password_sheets.to_xlsx(rows), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        data, mime = password_sheets.to_csv(rows), "text/csv; charset=utf-8"
    response = send_file(io.BytesIO(data), mimetype=mime, as_attachment=True, download_name=f"临时密码.{fmt}")
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/users/import/template.<fmt>")
@roles_required(Role.ADMIN)
def users_import_template(fmt: str):
    if fmt == "xlsx":
        data, mime = importer.template_xlsx(), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    elif fmt == "csv":
        data, mime = importer.template_csv(), "text/csv; charset=utf-8"
    else:
        abort(404)
    return send_file(io.BytesIO(data), mimetype=mime, as_attachment=True,
                     download_name=f"学员导入模板.{fmt}")
