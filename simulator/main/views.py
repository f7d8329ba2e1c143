from __future__ import annotations

from flask import Blueprint, current_app, jsonify, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import text

from grading import asr_status
from grading.asr.status import recognition_status
from softphone_sim import tts_status

from ..auth.access import public, roles_required
from ..auth.models import Role, User
from ..extensions import db

bp = Blueprint("main", __name__)

DASHBOARD_ENDPOINTS = {
    Role.TRAINEE: "main.trainee_dashboard",
    Role.ASSESSOR: "main.assessor_dashboard",
    Role.TRAINER: "main.trainer_dashboard",
    Role.ADMIN: "main.admin_dashboard",
}


@bp.route("/")
@public
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for(DASHBOARD_ENDPOINTS[current_user.role_enum]))


@bp.route("/trainee")
@roles_required(Role.TRAINEE)
def trainee_dashboard():
    from flask_login import current_user

    from ..extensions import db
    from ..progress import stats
    from ..sittings.models import Sitting, SittingCandidate

    mine = (db.session.query(SittingCandidate).filter_by(user_id=current_user.id).join(Sitting)
            .order_by(Sitting.opens_at.desc()).all())
    upcoming = [c for c in mine if c.sitting.published_at is None]
    published = [c for c in mine if c.sitting.published_at is not None]
    return render_template("dashboards/trainee.html", upcoming=upcoming, published=published,
                           weakest=stats.weakest(current_user.id))


@bp.route("/assessor")
@roles_required(Role.ASSESSOR)
def assessor_dashboard():
    return render_template("dashboards/assessor.html")


@bp.route("/trainer")
@roles_required(Role.TRAINER)
def trainer_dashboard():
    return render_template("dashboards/trainer.html")


@bp.route("/admin")
@roles_required(Role.ADMIN)
def admin_dashboard():
    counts = dict(db.session.query(User.role, db.func.count(User.id)).group_by(User.role).all())
    disabled = db.session.query(db.func.count(User.id)).filter(User.active.is_(False)).scalar()
    return render_template("dashboards/admin.html", counts=counts, disabled=disabled, roles=list(Role))


@bp.route("/healthz")
@public
def healthz():
    """Machine-readable health: database reachable, which speech engines this process would use, how the
    recognition service is doing (degraded, still 200, when its Redis or all its workers are gone)."""
    try:
        db.session.execute(text("SELECT 1"))
        database = {"ok": True, "dialect": db.engine.dialect.name}
    except Exception as exc:  # report, never crash the health check
        database = {"ok": False, "dialect": db.engine.dialect.name, "error": type(exc).__name__}
    asr = asr_status(current_app.config["ASR_ENGINE"])
    tts = tts_status(current_app.config["TTS_ENGINE"])
    recognition = recognition_status()
    ok = database["ok"] and asr["engine"] is not None and tts["engine"] is not None and recognition["ok"]
    body = {"status": "ok" if ok else "degraded", "database": database, "asr": asr, "tts": tts,
            "recognition": recognition}
    return jsonify(body), 200 if database["ok"] else 503
