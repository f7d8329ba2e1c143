"""Background work of the server process: submitting theory papers and grading practical tasks whose
time ran out while the candidate's browser was gone (a page load would also do it, but results must
not wait for one)."""
from __future__ import annotations

import threading

from .extensions import db


def start_sweeper(app, interval_s: float = 30.0) -> threading.Event:
    """Run ``finalize_overdue`` (theory) and ``close_overdue_tasks`` (practical) every ``interval_s``
    seconds in a daemon thread; set the returned event to stop it."""
    from exams.attempts import finalize_overdue

    from .practical.service import close_overdue_tasks

    stop = threading.Event()

    def loop():
        while not stop.wait(interval_s):
            with app.app_context():
                try:
                    done = finalize_overdue(db.session)
                    if done:
                        app.logger.info("submitted %d overdue theory attempt(s)", done)
                    graded = close_overdue_tasks()
                    if graded:
                        app.logger.info("graded %d practical task(s) whose time was up", graded)
                except Exception:  # keep sweeping after a transient database error
                    app.logger.exception("overdue-attempt sweep failed")
                    db.session.rollback()
                finally:
                    db.session.remove()

    threading.Thread(target=loop, name="attempt-sweeper", daemon=True).start()
    return stop
