"""Progress and analytics figures: a trainee's accuracy per knowledge area and per rubric category over
time, the weakest areas, and for staff the pass rates, score distributions and most-failed rubric items.
Plain queries over the attempts and calls; the pages draw them as inline SVG (no CDN)."""
from __future__ import annotations

from collections import Counter, defaultdict

from exams import load_blueprints
from exams.models import Attempt, AttemptAnswer, BankQuestion

from ..extensions import db
from ..labels import level_name
from ..practical.models import PracticalCall
from ..sittings.models import Sitting, SittingCandidate

CATEGORIES = {
    "phrase": "规范用语与服务步骤", "forbidden": "服务忌语", "order": "流程顺序", "rings": "及时接听",
    "hold": "保持规范", "reply_latency": "应答及时", "call_length": "通话时长", "speech_rate": "语速",
    "fillers": "口头禅", "work_order": "工单填写", "hangup": "挂机规范", "transfer": "转接规范",
    "typing_speed": "录入速度", "typing_accuracy": "录入正确率",
}


def theory_by_area(user_id: int) -> list[dict]:
    """Share of correctly answered questions per knowledge area, over all submitted papers."""
    areas = load_blueprints().areas
    rows = (db.session.query(BankQuestion.area, AttemptAnswer.correct)
            .join(AttemptAnswer, AttemptAnswer.question_id == BankQuestion.id)
            .join(Attempt, Attempt.id == AttemptAnswer.attempt_id)
            .filter(Attempt.user_id == user_id, Attempt.status == "submitted", Attempt.released.is_(True))
            .all())
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for area, correct in rows:
        totals[area][0] += bool(correct)
        totals[area][1] += 1
    return [{"key": a, "label": areas.get(a, a), "rate": round(c / n, 3), "n": n}
            for a, (c, n) in sorted(totals.items()) if n]


def practical_by_category(user_id: int) -> list[dict]:
    """Share of rubric points earned per category over the trainee's finished practice calls and tasks."""
    earned: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    calls = db.session.query(PracticalCall).filter_by(user_id=user_id, status="finished", mode="practice").all()
    for call in calls:
        for item in call.effective_items():
            if item["points_possible"]:
                earned[item["kind"]][0] += item["points_earned"]
                earned[item["kind"]][1] += item["points_possible"]
    return [{"key": k, "label": CATEGORIES.get(k, k), "rate": round(e / p, 3), "n": int(p)}
            for k, (e, p) in sorted(earned.items()) if p]


def history(user_id: int) -> list[dict]:
    theory = (db.session.query(Attempt).filter_by(user_id=user_id, status="submitted", released=True)
              .order_by(Attempt.submitted_at).all())
    calls = (db.session.query(PracticalCall).filter_by(user_id=user_id, status="finished", mode="practice")
             .order_by(PracticalCall.finished_at).all())
    modes = {"practice": "练习", "mock": "模拟考试", "certification": "正式鉴定"}
    out = [{"at": a.submitted_at, "kind": "理论", "title": f"{level_name(a.level)}{modes.get(a.mode, a.mode)}",
            "score": a.score, "endpoint": ("theory.result", {"attempt_id": a.id})} for a in theory]
    out += [{"at": c.finished_at, "kind": "操作", "title": c.scenario.title, "score": c.effective_score(),
             "endpoint": ("practical.result", {"call_id": c.id})} for c in calls]
    return sorted(out, key=lambda r: r["at"])


def trend(rows: list[dict], width: int = 520, height: int = 160) -> dict:
    """Points of a score-over-time line for inline SVG: x by time (first to last), y by score (0–100)."""
    rows = [r for r in rows if r.get("score") is not None and r.get("at") is not None]
    if not rows:
        return {"points": [], "width": width, "height": height}
    first, last = rows[0]["at"], rows[-1]["at"]
    span = (last - first).total_seconds() or 1.0
    left, right, top, bottom = 30, width - 10, 10, height - 20
    points = []
    for r in rows:
        x = left + (right - left) * ((r["at"] - first).total_seconds() / span if len(rows) > 1 else 0.5)
        y = bottom - (bottom - top) * max(0.0, min(100.0, r["score"])) / 100
        points.append({"x": round(x, 1), "y": round(y, 1), "score": r["score"], "at": r["at"], "kind": r["kind"],
                       "title": r["title"]})
    return {"points": points, "width": width, "height": height, "first": first, "last": last,
            "y60": round(bottom - (bottom - top) * 0.6, 1), "top": top, "bottom": bottom, "left": left, "right": right}


def weakest(user_id: int, n: int = 3) -> list[dict]:
    """The trainee's weakest areas (theory areas and rubric categories, each with enough evidence)."""
    rows = [dict(r, kind="theory") for r in theory_by_area(user_id) if r["n"] >= 3]
    rows += [dict(r, kind="practical") for r in practical_by_category(user_id) if r["n"] >= 10]
    return sorted(rows, key=lambda r: r["rate"])[:n]


# ---- staff analytics ---------------------------------------------------------------------------------

def pass_rates() -> dict:
    """Per level and per published sitting: candidates and how many were certified."""
    by_level: dict[int, Counter] = defaultdict(Counter)
    sittings = []
    for sitting in db.session.query(Sitting).filter(Sitting.published_at.isnot(None)).order_by(Sitting.opens_at):
        c = Counter(certified=sum(1 for x in sitting.candidates if x.certified), total=len(sitting.candidates))
        by_level[sitting.level].update(c)
        sittings.append({"id": sitting.id, "name": sitting.name, "level": sitting.level, **c})
    return {"levels": {lv: dict(c) for lv, c in sorted(by_level.items(), reverse=True)}, "sittings": sittings}


def distribution(scores: list[float], width: int = 10) -> list[int]:
    bins = [0] * (100 // width)
    for s in scores:
        bins[min(len(bins) - 1, int(max(0.0, s) // width))] += 1
    return bins


def score_distributions() -> dict:
    published = db.session.query(SittingCandidate).join(Sitting).filter(Sitting.published_at.isnot(None)).all()
    theory = [c.theory_score for c in published if c.theory_score is not None]
    practical = [c.practical_score for c in published if c.practical_score is not None]
    practice = [c.effective_score() for c in db.session.query(PracticalCall).filter_by(status="finished").all()
                if c.result is not None]
    return {"theory": distribution(theory), "practical": distribution(practical), "calls": distribution(practice),
            "n": {"theory": len(theory), "practical": len(practical), "calls": len(practice)}}


def most_failed_items(limit: int = 15) -> list[dict]:
    """Rubric items by how often they were not fully earned, over all graded calls and tasks."""
    seen: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    labels: dict[tuple[str, str], str] = {}
    titles: dict[str, str] = {}
    for call in db.session.query(PracticalCall).filter_by(status="finished").all():
        for item in call.effective_items():
            key = (call.scenario.scenario_id, item["id"])
            labels[key] = item["label"]
            titles[call.scenario.scenario_id] = call.scenario.title
            seen[key][1] += 1
            seen[key][0] += item["points_earned"] < item["points_possible"]
    rows = [{"scenario": s, "title": titles[s], "item": i, "label": labels[(s, i)], "failed": f, "total": t,
             "rate": round(f / t, 3)}
            for (s, i), (f, t) in seen.items() if t]
    return sorted(rows, key=lambda r: (-r["rate"], -r["total"]))[:limit]
