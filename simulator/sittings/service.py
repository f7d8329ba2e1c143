"""Certification sittings: creating them, enrolling candidates (each gets a practical exam drawn by the
level's blueprint), running the theory paper and the practical tasks in certification mode, assessors'
overrides with the audit log, and publishing results with certificates."""
from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from exams import attempts as theory
from exams.models import Attempt
from grading.rubric import totals
from scenarios import blueprint as practical_blueprint

from ..auth.models import Role, User
from ..extensions import db
from ..practical.models import PracticalCall, ScenarioVersion
from .models import Appeal, AppealState, AuditEntry, Sitting, SittingCandidate, utcnow


def pass_marks(level: int) -> tuple[float, float]:
    """(theory, practical) pass marks of a level, as its two blueprints set them."""
    from exams import load_blueprints
    return float(load_blueprints()[level].pass_mark), float(practical_blueprint.load()[level].pass_mark)


class SittingError(Exception):
    """A request the sitting cannot take; the message is for the assessor or candidate (Chinese)."""


# ---- creating and enrolling ---------------------------------------------------------------------

def create_sitting(assessor: User, *, name: str, level: int, opens_at: datetime, closes_at: datetime,
                   access_code: str = "") -> Sitting:
    if closes_at <= opens_at:
        raise SittingError("结束时间必须晚于开始时间")
    if level not in (3, 4, 5):
        raise SittingError("等级必须是五级、四级或三级")
    sitting = Sitting(name=name.strip(), level=level, opens_at=opens_at, closes_at=closes_at,
                      assessor_id=assessor.id,
                      access_code_hash=generate_password_hash(access_code.strip()) if access_code.strip() else None)
    db.session.add(sitting)
    db.session.commit()
    return sitting


def _pool() -> list[tuple[str, str, int]]:
    return [(v.scenario_id, v.task, v.level) for v in ScenarioVersion.current()]


def enrol(sitting: Sitting, users: list[User], actor: User) -> list[SittingCandidate]:
    """Enrol trainees; each gets a practical exam drawn now (seeded by sitting and candidate), so the
    proctor view and the candidate see the same tasks. Already enrolled users are skipped."""
    if sitting.published_at is not None:
        raise SittingError("成绩已发布的批次不能再报名")
    blueprint = practical_blueprint.load()[sitting.level]
    pool = _pool()
    versions = {v.scenario_id: v for v in ScenarioVersion.current()}
    enrolled = {c.user_id for c in sitting.candidates}
    added = []
    for user in users:
        if user.role != Role.TRAINEE.value:
            raise SittingError(f"{user.username} 不是学员账号，不能报名")
        if user.id in enrolled:
            continue
        try:
            drawn = practical_blueprint.draw(blueprint, pool, seed=sitting.id * 1_000_003 + user.id)
        except practical_blueprint.PracticalBlueprintError as exc:
            raise SittingError(str(exc)) from None
        plan = [{"type": d.type, "scenario_id": d.scenario_id, "version_id": versions[d.scenario_id].id,
                 "weight": d.weight, "call_id": None} for d in drawn]
        candidate = SittingCandidate(sitting_id=sitting.id, user_id=user.id, practical_plan=plan)
        db.session.add(candidate)
        added.append(candidate)
        enrolled.add(user.id)
    if added:
        db.session.add(AuditEntry(actor_id=actor.id, sitting_id=sitting.id, action="enrol",
                                  after=[c.user_id for c in added], reason=f"报名 {len(added)} 人"))
    db.session.commit()
    return added


def read_roster(filename: str, content: bytes) -> list[str]:
    """Usernames from an .xlsx or .csv roster (first column, header optional)."""
    rows: list[list[str]] = []
    if filename.lower().endswith(".xlsx"):
        from openpyxl import load_workbook
        try:
            sheet = load_workbook(io.BytesIO(content), read_only=True, data_only=True).active
        except Exception:
            raise SittingError("无法读取 Excel 文件，请使用下载的模板（.xlsx）") from None
        rows = [["" if c is None else str(c).strip() for c in row] for row in sheet.iter_rows(values_only=True)]
    elif filename.lower().endswith(".csv"):
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise SittingError("CSV 文件不是 UTF-8 编码") from None
        rows = [[c.strip() for c in row] for row in csv.reader(io.StringIO(text))]
    else:
        raise SittingError("只接受 .xlsx 或 .csv 文件")
    if rows and rows[0] and rows[0][0] in ("用户名", "username", "账号"):
        rows = rows[1:]
    return [row[0] if row else "" for row in rows]


def enrol_roster(sitting: Sitting, filename: str, content: bytes, actor: User) -> int:
    """All rows or none: every bad row is reported with its row number."""
    names = read_roster(filename, content)
    first_row = 2
    problems, users, seen = [], [], set()
    for n, name in enumerate(names, start=first_row):
        if not name:
            continue
        user = db.session.query(User).filter_by(username=name).first()
        if user is None:
            problems.append(f"第 {n} 行：没有用户 {name}")
        elif user.role != Role.TRAINEE.value:
            problems.append(f"第 {n} 行：{name} 不是学员账号")
        elif not user.active:
            problems.append(f"第 {n} 行：{name} 已停用")
        elif name in seen:
            problems.append(f"第 {n} 行：{name} 重复")
        else:
            seen.add(name)
            users.append(user)
    if problems:
        raise SittingError("；".join(problems))
    if not users:
        raise SittingError("名单中没有用户名")
    return len(enrol(sitting, users, actor))


def roster_template() -> bytes:
    from openpyxl import Workbook

    from exams.spreadsheet import append_row
    wb = Workbook()
    ws = wb.active
    ws.title = "报名名单"
    append_row(ws, ["用户名"])
    append_row(ws, ["trainee"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


# ---- the candidate's side -----------------------------------------------------------------------------

def check_access(sitting: Sitting, code: str) -> bool:
    return sitting.access_code_hash is None or check_password_hash(sitting.access_code_hash, code.strip())


def _ensure_open(sitting: Sitting) -> None:
    now = utcnow()
    if sitting.published_at is not None:
        raise SittingError("本批次成绩已发布，考试已结束")
    if now < sitting.opens_at:
        raise SittingError("考试尚未开始")
    if now > sitting.closes_at:
        raise SittingError("考试时间已结束")


def theory_attempt(candidate: SittingCandidate) -> Attempt | None:
    return db.session.get(Attempt, candidate.theory_attempt_id) if candidate.theory_attempt_id else None


def start_theory(candidate: SittingCandidate) -> Attempt:
    attempt = theory_attempt(candidate)
    if attempt is not None:
        return attempt
    _ensure_open(candidate.sitting)
    attempt = theory.start_attempt(db.session, candidate.user_id, mode="certification", level=candidate.sitting.level,
                                   sitting_id=candidate.sitting_id)
    attempt.extra_minutes = candidate.extra_minutes
    candidate.theory_attempt_id = attempt.id
    db.session.commit()
    return attempt


def practical_call(candidate: SittingCandidate, index: int) -> PracticalCall | None:
    plan = candidate.practical_plan or []
    if not 0 <= index < len(plan) or not plan[index].get("call_id"):
        return None
    return db.session.get(PracticalCall, plan[index]["call_id"])


def start_practical(candidate: SittingCandidate, index: int, user: User) -> PracticalCall:
    """Start (once) the candidate's practical task ``index`` in certification mode."""
    from ..practical import service as practical

    plan = list(candidate.practical_plan or [])
    if not 0 <= index < len(plan):
        raise SittingError("没有这道操作题")
    existing = practical_call(candidate, index)
    if existing is not None:
        return existing
    _ensure_open(candidate.sitting)
    version = db.session.get(ScenarioVersion, plan[index]["version_id"])
    if plan[index]["type"] == "live_call":
        row = practical.start_call(user, version, mode="certification")
    else:
        row = practical.start_task(user, version, mode="certification")
    row.sitting_candidate_id = candidate.id
    plan[index] = {**plan[index], "call_id": row.id}
    candidate.practical_plan = plan
    db.session.commit()
    return row


# ---- closed book: the lockdown while a certification is open -------------------------------------------

LOCKDOWN_MESSAGE = ("您正在参加正式鉴定（{name}），鉴定结束并发布成绩前，练习、模拟考试和解析、参考答案页面"
                    "暂停使用，以保证闭卷考试的公正。")


def open_certification_for(user: User, now: datetime | None = None) -> Sitting | None:
    """The unpublished certification sitting that closes the book for ``user``, or None.

    A sitting is open for one of its candidates from its start time until results are published,
    except once its window has closed and the candidate has nothing left in progress (then nothing
    they still answer can gain from practice; an assessor reopening a paper or task closes the book
    again). Before the window opens, practice is free. Practice papers draw from the same bank and
    practice calls from the same scenarios as the sitting, so no finer rule (e.g. "other items only")
    keeps the keys and reference answers of the live paper away from the candidate."""
    if user is None or not getattr(user, "id", None):
        return None
    now = now or utcnow()
    rows = (db.session.query(SittingCandidate).join(Sitting)
            .filter(SittingCandidate.user_id == user.id, Sitting.published_at.is_(None), Sitting.opens_at <= now)
            .order_by(Sitting.opens_at).all())
    for candidate in rows:
        if now <= candidate.sitting.closes_at or _work_in_progress(candidate):
            return candidate.sitting
    return None


def _work_in_progress(candidate: SittingCandidate) -> bool:
    attempt = theory_attempt(candidate)
    if attempt is not None and attempt.is_open:
        return True
    return any(call is not None and call.status != "finished"
               for call in (practical_call(candidate, i) for i in range(len(candidate.practical_plan or []))))


def lockdown_message(sitting: Sitting) -> str:
    return LOCKDOWN_MESSAGE.format(name=sitting.name)


# ---- scores --------------------------------------------------------------------------------------------

@dataclass
class Scores:
    theory: float | None
    theory_status: str           # not_started | in_progress | submitted
    practical: float
    practical_done: int
    practical_total: int
    theory_pass_mark: float
    practical_pass_mark: float

    @property
    def complete(self) -> bool:
        return self.theory_status == "submitted" and self.practical_done == self.practical_total

    @property
    def certified(self) -> bool:
        return (self.complete and (self.theory or 0) >= self.theory_pass_mark
                and self.practical >= self.practical_pass_mark)


def scores(candidate: SittingCandidate) -> Scores:
    attempt = theory_attempt(candidate)
    if attempt is not None:
        theory.finalize_if_due(attempt)
    status = "not_started" if attempt is None else ("in_progress" if attempt.is_open else "submitted")
    practical_total, done = 0.0, 0
    for i, item in enumerate(candidate.practical_plan or []):
        call = practical_call(candidate, i)
        # a call closed by a server restart was graded on what was recorded: it counts unless reopened
        if call is not None and (call.status == "finished" or (call.status == "interrupted" and call.result)):
            done += 1
            practical_total += item["weight"] * (call.effective_score() or 0.0) / 100
    theory_mark, practical_mark = pass_marks(candidate.sitting.level)
    return Scores(theory=attempt.score if attempt is not None and not attempt.is_open else None,
                  theory_status=status, practical=round(practical_total, 1), practical_done=done,
                  practical_total=len(candidate.practical_plan or []), theory_pass_mark=theory_mark,
                  practical_pass_mark=practical_mark)


# ---- assessors' changes --------------------------------------------------------------------------------

def _audit(actor: User, candidate: SittingCandidate, action: str, target: str, before, after, reason: str) -> None:
    db.session.add(AuditEntry(actor_id=actor.id, sitting_id=candidate.sitting_id,
                              candidate_user_id=candidate.user_id, action=action, target=target,
                              before=before, after=after, reason=reason))


def _need_reason(reason: str) -> str:
    reason = (reason or "").strip()
    if len(reason) < 4:
        raise SittingError("请写明理由（至少 4 个字）")
    return reason


def override_item(call: PracticalCall, item_id: str, points: float | None, reason: str, actor: User, *,
                  decision: str | None = None, deduction: float | None = None) -> None:
    """An assessor's change to one item: new points, or on an attitude / fatal item an explicit decision
    (确认, 不成立, 另定扣分 — grading/rubric/totals.py), with a reason; recorded in the audit log."""
    reason = _need_reason(reason)
    candidate = db.session.get(SittingCandidate, call.sitting_candidate_id)
    if candidate is None:
        raise SittingError("这次通话不属于任何鉴定批次")
    if candidate.sitting.published_at is not None:
        raise SittingError("成绩已发布，不能再修改")
    item = next((i for i in (call.result or {}).get("items", []) if i["id"] == item_id), None)
    if item is None:
        raise SittingError("没有这个评分项")
    try:
        change = totals.decide(item, decision or None, points=points, deduction=deduction)
    except totals.DecisionError as exc:
        raise SittingError(str(exc)) from None
    overrides = dict(call.overrides or {})
    before = totals.standing(item, overrides.get(item_id))
    overrides[item_id] = {**change, "by": actor.id, "at": utcnow().isoformat(timespec="seconds"), "reason": reason}
    call.overrides = overrides
    after = totals.standing(item, overrides[item_id])
    if totals.takes_decision(item):
        _audit(actor, candidate, "override", f"call:{call.id}/item:{item_id}",
               {"points": before.points, "deduction": before.deduction, "fatal": before.fatal},
               {"points": after.points, "deduction": after.deduction, "fatal": after.fatal,
                "decision": after.decision}, reason)
    else:
        _audit(actor, candidate, "override", f"call:{call.id}/item:{item_id}", {"points": before.points},
               {"points": after.points}, reason)
    db.session.commit()


def extend_time(candidate: SittingCandidate, minutes: int, reason: str, actor: User) -> None:
    reason = _need_reason(reason)
    if not 1 <= minutes <= 120:
        raise SittingError("延长时间应为 1–120 分钟")
    before = candidate.extra_minutes
    candidate.extra_minutes += minutes
    attempt = theory_attempt(candidate)
    if attempt is not None and attempt.is_open:
        attempt.extra_minutes = candidate.extra_minutes
    _audit(actor, candidate, "extend_time", "theory", {"extra_minutes": before},
           {"extra_minutes": candidate.extra_minutes}, reason)
    db.session.commit()


def reopen_theory(candidate: SittingCandidate, reason: str, actor: User, minutes: int = 10) -> None:
    """Let a candidate continue a submitted paper (e.g. a power cut ended it), with extra time."""
    reason = _need_reason(reason)
    attempt = theory_attempt(candidate)
    if attempt is None or attempt.is_open:
        raise SittingError("理论试卷没有提交，无需重新开放")
    if candidate.sitting.published_at is not None:
        raise SittingError("成绩已发布，不能重新开放")
    before = {"status": attempt.status, "score": attempt.score}
    theory.reopen(attempt, extra_minutes=minutes)
    _audit(actor, candidate, "reopen", "theory", before, {"status": "in_progress",
                                                           "extra_minutes": attempt.extra_minutes}, reason)
    db.session.commit()


def reopen_practical(candidate: SittingCandidate, index: int, reason: str, actor: User) -> None:
    """A practical task starts again (e.g. the line failed); the earlier call stays on record."""
    reason = _need_reason(reason)
    if candidate.sitting.published_at is not None:
        raise SittingError("成绩已发布，不能重新开放")
    plan = list(candidate.practical_plan or [])
    if not 0 <= index < len(plan) or not plan[index].get("call_id"):
        raise SittingError("这道操作题还没有开始，无需重新开放")
    before = plan[index]["call_id"]
    plan[index] = {**plan[index], "call_id": None, "earlier_calls": plan[index].get("earlier_calls", []) + [before]}
    candidate.practical_plan = plan
    _audit(actor, candidate, "reopen", f"practical:{index}", {"call_id": before}, {"call_id": None}, reason)
    db.session.commit()


# ---- publishing ----------------------------------------------------------------------------------------

def certificate_number(sitting: Sitting, candidate: SittingCandidate) -> str:
    """HJ + year + level + sitting + candidate + random check part: unique and not guessable."""
    return (f"HJ{sitting.opens_at:%Y}{sitting.level}{sitting.id:04d}{candidate.id:05d}"
            f"{secrets.token_hex(3).upper()}")


def candidate_number(candidate: SittingCandidate) -> str:
    """The candidate's number in this sitting (准考证号): year, level, sitting and enrolment."""
    sitting = candidate.sitting
    return f"{sitting.opens_at:%Y}{sitting.level}{sitting.id:04d}{candidate.id:05d}"


def report(candidate: SittingCandidate) -> dict:
    """The score report's content (frozen when published)."""
    from exams import load_blueprints
    s = scores(candidate)
    attempt = theory_attempt(candidate)
    areas = load_blueprints().areas
    breakdown = [{"area": areas.get(k, k), **v} for k, v in ((attempt.breakdown or {}).items() if attempt else [])]
    items = []
    for i, item in enumerate(candidate.practical_plan or []):
        call = practical_call(candidate, i)
        version = db.session.get(ScenarioVersion, item["version_id"])
        items.append({"title": version.title if version else item["scenario_id"], "type": item["type"],
                      "weight": item["weight"],
                      "score": call.effective_score() if call and call.status == "finished" else None,
                      "provisional": bool(call and call.status == "finished" and call.is_provisional),
                      "items": [{"label": x["label"], "earned": x["points_earned"], "possible": x["points_possible"],
                                 "overridden": bool(x.get("overridden")),
                                 **({"decision": x["decision_words"]} if x.get("decision_words") else {})}
                                for x in (call.effective_items() if call else [])]})
    from ..localtime import to_local
    published = candidate.sitting.published_at
    return {"name": candidate.user.display_name, "username": candidate.user.username,
            "candidate_number": candidate_number(candidate),
            "organisation": candidate.user.organisation, "sitting": candidate.sitting.name,
            "level": candidate.sitting.level, "date": to_local(candidate.sitting.opens_at).strftime("%Y-%m-%d"),
            "issued": to_local(published or utcnow()).strftime("%Y-%m-%d"),
            "theory": s.theory, "theory_breakdown": breakdown, "practical": s.practical, "practical_items": items,
            "certified": s.certified, "complete": s.complete,
            "theory_pass_mark": s.theory_pass_mark, "practical_pass_mark": s.practical_pass_mark}


def _lock_sitting(sitting: Sitting) -> None:
    """Two assessors pressing "publish" at once: the second waits, then finds it published."""
    from exams.attempts import lock_row
    lock_row(sitting)


def pending_reviews(sitting: Sitting) -> list[dict]:
    """Graded items the engine left 待复核 that no assessor has settled (overridden) yet."""
    out = []
    for candidate in sitting.candidates:
        for i in range(len(candidate.practical_plan or [])):
            call = practical_call(candidate, i)
            if call is None or not call.result:
                continue
            # the same test of "unsettled" that decides whether the call is still 暂定
            for item in totals.unsettled(call.result.get("items", []), call.overrides):
                out.append({"candidate": candidate, "index": i, "call": call, "title": call.scenario.title,
                            "item_id": item["id"], "label": item["label"]})
    return out


def publish(sitting: Sitting, actor: User, *, despite_pending: bool = False) -> dict:
    """Freeze and release the results. Items still 待复核 stop it unless the assessor has seen the list and
    publishes anyway (``despite_pending``): the engine's provisional points then become final."""
    _lock_sitting(sitting)
    if sitting.published_at is not None:
        db.session.rollback()
        raise SittingError("成绩已经发布")
    # a call with an attitude flag is never passed automatically: the assessor settles it first
    waiting = [c for c in sitting.candidates for i in range(len(c.practical_plan or []))
               if (call := practical_call(c, i)) is not None and call.awaiting_review]
    if waiting:
        db.session.rollback()
        raise SittingError(f"有 {len(waiting)} 次通话的服务态度待复核（见评阅页），复核后才能发布")
    pending = pending_reviews(sitting)
    if pending and not despite_pending:
        db.session.rollback()
        raise SittingError(f"还有 {len(pending)} 个评分项待复核，请先复核，或确认后仍然发布")
    counts = {"certified": 0, "not_certified": 0}
    sitting.published_at = utcnow()
    for candidate in sitting.candidates:
        attempt = theory_attempt(candidate)
        if attempt is not None:
            # Under the paper's lock, as autosave and the sweeper: answers acknowledged before this
            # point are scored, later ones are refused. One transaction for the whole publication.
            theory.lock(attempt)
            if attempt.is_open:
                due = attempt.deadline is not None and theory.models.utcnow() > attempt.deadline + theory.GRACE
                theory.submit(attempt, reason="deadline" if due else "assessor",
                              at=attempt.deadline if due else None, commit=False)
        s = scores(candidate)
        candidate.theory_score, candidate.practical_score, candidate.certified = s.theory, s.practical, s.certified
        if s.certified:
            candidate.certificate_number = certificate_number(sitting, candidate)
        candidate.report = report(candidate)
        if attempt is not None:
            attempt.released = True
        counts["certified" if s.certified else "not_certified"] += 1
    db.session.add(AuditEntry(actor_id=actor.id, sitting_id=sitting.id, action="publish", after=counts,
                              reason=(f"发布成绩（{len(pending)} 项待复核未处理，按系统评分发布）"
                                      if pending else "发布成绩")))
    db.session.commit()
    return counts


def rebuild_report(candidate: SittingCandidate, actor: User) -> dict:
    """Write a published candidate's report again from the stored records (names, titles, items), keeping
    the published scores and verdict: published results are final, only their presentation is rebuilt."""
    if candidate.sitting.published_at is None:
        raise SittingError("成绩尚未发布，没有可重新生成的成绩报告")
    before = dict(candidate.report or {})
    fresh = report(candidate)
    fresh.update(theory=candidate.theory_score, practical=candidate.practical_score,
                 certified=bool(candidate.certified))
    candidate.report = fresh
    changed = sorted(k for k in fresh if before.get(k) != fresh[k])
    db.session.add(AuditEntry(actor_id=actor.id, sitting_id=candidate.sitting_id, candidate_user_id=candidate.user_id,
                              action="rebuild_report", target="report",
                              before={k: before.get(k) for k in changed}, after={k: fresh[k] for k in changed},
                              reason="重新生成成绩报告和证书"))
    db.session.commit()
    return fresh


def verify(number: str) -> SittingCandidate | None:
    if not number or len(number) > 32:
        return None
    return db.session.query(SittingCandidate).filter_by(certificate_number=number.strip().upper()).first()


def visible_sittings(user: User):
    """Assessors see the sittings they run; admins see all."""
    query = db.session.query(Sitting).order_by(Sitting.opens_at.desc())
    if user.role != Role.ADMIN.value:
        query = query.filter(Sitting.assessor_id == user.id)
    return query


def default_window() -> tuple[datetime, datetime]:
    start = utcnow().replace(second=0, microsecond=0)
    return start, start + timedelta(hours=3)


# ---- appeals (申诉) ------------------------------------------------------------------------------------

def appeal_deadline(sitting: Sitting) -> datetime | None:
    from flask import current_app
    if sitting.published_at is None:
        return None
    return sitting.published_at + timedelta(days=current_app.config["APPEAL_WINDOW_DAYS"])


def appeal_window_open(sitting: Sitting, now: datetime | None = None) -> bool:
    deadline = appeal_deadline(sitting)
    return deadline is not None and (now or utcnow()) <= deadline


def appealable_items(candidate: SittingCandidate) -> list[dict]:
    """The published practical items a candidate may appeal, with any appeal already made."""
    appeals = {(a.call_id, a.item_id): a for a in db.session.query(Appeal).filter_by(candidate_id=candidate.id)}
    out = []
    for i, plan in enumerate(candidate.practical_plan or []):
        call = practical_call(candidate, i)
        if call is None or not call.result:
            continue
        for item in call.effective_items():
            out.append({"index": i, "type": plan["type"], "call": call, "title": call.scenario.title, "item": item,
                        "appeal": appeals.get((call.id, item["id"]))})
    return out


def open_appeal(candidate: SittingCandidate, call_id: str, item_id: str, statement: str, user: User) -> Appeal:
    sitting = candidate.sitting
    if candidate.user_id != user.id:
        raise SittingError("只能对自己的成绩提出申诉")
    if sitting.published_at is None:
        raise SittingError("成绩发布后才能申诉")
    if not appeal_window_open(sitting):
        days = (appeal_deadline(sitting) - sitting.published_at).days
        raise SittingError(f"申诉期已过（成绩发布后 {days} 天内可申诉）")
    statement = (statement or "").strip()
    if len(statement) < 10:
        raise SittingError("请写明申诉理由（至少 10 个字）")
    target = next((x for x in appealable_items(candidate)
                   if x["call"].id == call_id and x["item"]["id"] == item_id), None)
    if target is None:
        raise SittingError("没有这个评分项")
    if target["appeal"] is not None:
        raise SittingError("这个评分项已经申诉过，请等待考评员答复")
    item = target["item"]
    appeal = Appeal(candidate_id=candidate.id, call_id=call_id, item_id=item_id, item_label=item["label"],
                    points_before=float(item["points_earned"]), statement=statement)
    db.session.add(appeal)
    _audit(user, candidate, "appeal_open", f"call:{call_id}/item:{item_id}", {"points": appeal.points_before}, None,
           statement)
    try:
        db.session.commit()
    except IntegrityError:      # the same appeal sent twice at once: the unique key keeps one
        db.session.rollback()
        raise SittingError("这个评分项已经申诉过，请等待考评员答复") from None
    return appeal


def _move(appeal: Appeal, to: str) -> None:
    if to not in AppealState.TRANSITIONS[appeal.state]:
        raise SittingError(f"这项申诉已处理（{appeal.state_label}），不能再改")
    appeal.state = to


def answer_appeal(appeal: Appeal, *, upheld: bool, reason: str, actor: User, points: float | None = None) -> None:
    """Uphold (the item gets ``points``, the practical score and verdict follow) or reject an open appeal."""
    from exams.attempts import lock_row
    reason = _need_reason(reason)
    lock_row(appeal)                          # two assessors answering at once: the second finds it answered
    try:
        _answer(appeal, upheld=upheld, reason=reason, actor=actor, points=points)
    except SittingError:
        db.session.rollback()
        raise
    db.session.commit()


def _answer(appeal: Appeal, *, upheld: bool, reason: str, actor: User, points: float | None) -> None:
    candidate = appeal.candidate
    call = db.session.get(PracticalCall, appeal.call_id)
    item = next((i for i in call.effective_items() if i["id"] == appeal.item_id), None)
    target = f"call:{call.id}/item:{appeal.item_id}"
    if not upheld:
        _move(appeal, AppealState.REJECTED)
        _audit(actor, candidate, "appeal_rejected", target, {"points": appeal.points_before}, None, reason)
    else:
        if points is None or item is None or not appeal.points_before < points <= item["points_possible"]:
            raise SittingError(f"申诉成立时，新得分应高于原得分 {appeal.points_before:g}，且不超过满分"
                               f" {item['points_possible']:g}" if item else "没有这个评分项")
        _move(appeal, AppealState.UPHELD)
        overrides = dict(call.overrides or {})
        overrides[appeal.item_id] = {"points": float(points), "by": actor.id,
                                     "at": utcnow().isoformat(timespec="seconds"),
                                     "reason": reason, "appeal": appeal.id}
        call.overrides = overrides
        before = {"points": appeal.points_before, "practical_score": candidate.practical_score,
                  "certified": bool(candidate.certified)}
        s = scores(candidate)
        candidate.practical_score = s.practical
        candidate.certified = ((candidate.theory_score or 0) >= s.theory_pass_mark
                               and s.practical >= s.practical_pass_mark)
        if candidate.certified and not candidate.certificate_number:
            candidate.certificate_number = certificate_number(candidate.sitting, candidate)
        fresh = report(candidate)
        fresh.update(theory=candidate.theory_score, practical=candidate.practical_score, certified=candidate.certified)
        candidate.report = fresh
        appeal.points_after = float(points)
        _audit(actor, candidate, "appeal_upheld", target, before,
               {"points": float(points), "practical_score": candidate.practical_score,
                "certified": candidate.certified}, reason)
    appeal.answer, appeal.answered_at, appeal.answered_by_id = reason, utcnow(), actor.id


def sitting_appeals(sitting: Sitting) -> list[Appeal]:
    return (db.session.query(Appeal).join(SittingCandidate).filter(SittingCandidate.sitting_id == sitting.id)
            .order_by(Appeal.state != AppealState.OPEN, Appeal.created_at).all())
