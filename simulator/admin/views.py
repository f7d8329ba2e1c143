from __future__ import annotations

import csv
import io
import secrets
import threading
from datetime import datetime, timedelta, timezone

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user

from ..auth import importer
from ..auth.access import roles_required
from ..auth.models import Role, User
from ..extensions import db
from ..forms import ConfirmForm, UserCreateForm, UserEditForm, UserImportForm

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
    temporary = secrets.token_urlsafe(9)
    user.set_password(temporary, temporary=True)
    db.session.commit()
    return render_template("admin/password_reset.html", user=user, temporary=temporary)


@bp.route("/users/import", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def users_import():
    form = UserImportForm()
    result = file_error = None
    if form.validate_on_submit():
        upload = form.file.data
        try:
            rows = importer.read_rows(upload.filename, upload.read())
            result = importer.import_users(rows)
        except importer.ImportFileError as exc:
            file_error = str(exc)
        if result is not None and result.ok:
            flash(f"成功导入 {len(result.created)} 个账号。", "success")
    status = 422 if (file_error or (result and not result.ok)) else 200
    download = _keep_passwords(result.created) if result is not None and result.ok else None
    return render_template("admin/users_import.html", form=form, result=result, download=download,
                           action_form=ConfirmForm(), file_error=file_error), status


# Generated passwords of an import, downloadable once by the admin who imported: kept in this process's
# memory only (never in the database, a cookie or a file on disk) and dropped on download or expiry.
_PASSWORD_FILES: dict[str, tuple[int, datetime, bytes]] = {}
_PASSWORD_FILES_LOCK = threading.Lock()
PASSWORD_FILE_MINUTES = 30


def _keep_passwords(created: list[tuple[str, str, str | None]]) -> str | None:
    generated = [(u, n, pw) for u, n, pw in created if pw]
    if not generated:
        return None
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["用户名", "姓名", "临时密码"])
    for username, name, pw in generated:
        writer.writerow([_csv_text(username), _csv_text(name), pw])
    token = secrets.token_urlsafe(16)
    now = datetime.now(timezone.utc)
    with _PASSWORD_FILES_LOCK:
        for key in [k for k, (_, at, _) in _PASSWORD_FILES.items() if at < now]:
            del _PASSWORD_FILES[key]
        _PASSWORD_FILES[token] = (current_user.id, now + timedelta(minutes=PASSWORD_FILE_MINUTES),
                                  buf.getvalue().encode("utf-8-sig"))
    return token


def _csv_text(value: str) -> str:
    # a name like "=HYPERLINK(...)" must stay text when the file is opened in Excel
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


@bp.route("/users/import/passwords/<token>", methods=["POST"])
@roles_required(Role.ADMIN)
def users_import_passwords(token: str):
    if not ConfirmForm().validate_on_submit():
        abort(400)
    with _PASSWORD_FILES_LOCK:
        entry = _PASSWORD_FILES.get(token)
        if entry is None or entry[0] != current_user.id or entry[1] < datetime.now(timezone.utc):
            entry = None
        else:
            del _PASSWORD_FILES[token]
    if entry is None:
        flash("临时密码文件只能下载一次，已下载或已过期；如需要，请为相关账号重置密码。", "error")
        return redirect(url_for("admin.users_import"))
    return send_file(io.BytesIO(entry[2]), mimetype="text/csv; charset=utf-8", as_attachment=True,
                     download_name="临时密码.csv")


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
