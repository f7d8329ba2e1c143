"""The sitting's access code, enforced on the server for every certification page and API.

Entering the code admits one login session: the admission is kept in that session (bound to the
signed-in account and its session version, so another account in the same browser, or the same account
after a password change, must enter it again). Every request for a certification theory paper or
practical task is checked here, in one hook, rather than in each view: a second browser that knows
only the URL of an open paper gets a 403 and the way to the code form.
"""
from __future__ import annotations

from flask import jsonify, render_template, request, session, url_for
from flask_login import current_user

from ..extensions import db
from .models import Sitting, SittingCandidate

# Pages a browser navigates to (an HTML answer); every other endpoint is the pages' JSON API.
PAGES = {"theory.take", "theory.result", "theory.submit", "practical.call_page", "practical.task_page",
         "practical.result"}
MESSAGE = "请先在鉴定批次页面输入考场口令，再进入正式鉴定。"


def _key(sitting_id: int) -> str:
    return f"sitting-{sitting_id}"


def admit(sitting: Sitting) -> None:
    session[_key(sitting.id)] = current_user.get_id()


def admitted(sitting: Sitting) -> bool:
    return sitting.access_code_hash is None or session.get(_key(sitting.id)) == current_user.get_id()


def _sitting_of_request() -> Sitting | None:
    """The sitting behind the certification attempt or call this request addresses, if any."""
    args = request.view_args or {}
    endpoint = request.endpoint or ""
    if endpoint.startswith("theory.") and "attempt_id" in args:
        from exams.models import Attempt
        attempt = db.session.get(Attempt, args["attempt_id"])
        if attempt is None or attempt.user_id != current_user.id or attempt.mode != "certification":
            return None
        return db.session.get(Sitting, attempt.sitting_id) if attempt.sitting_id else None
    if endpoint.startswith("practical.") and "call_id" in args:
        from ..practical.models import PracticalCall
        call = db.session.get(PracticalCall, args["call_id"])
        if call is None or call.user_id != current_user.id or not call.sitting_candidate_id:
            return None
        candidate = db.session.get(SittingCandidate, call.sitting_candidate_id)
        return candidate.sitting if candidate is not None else None
    return None


def enforce_access_code():
    """before_request: refuse certification papers and tasks to a session that has not entered the code.
    Published sittings are over: their result pages need no code."""
    if not current_user.is_authenticated:
        return None
    sitting = _sitting_of_request()
    if sitting is None or sitting.published_at is not None or admitted(sitting):
        return None
    link = url_for("sittings.take", sitting_id=sitting.id)
    if request.endpoint not in PAGES or request.is_json or request.accept_mimetypes.best == "application/json":
        return jsonify({"ok": False, "error": MESSAGE, "access_code": True, "sitting_url": link}), 403
    return render_template("error.html", code=403, title="需要考场口令", message=MESSAGE), 403
