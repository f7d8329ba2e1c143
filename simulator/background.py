"""Background work of the server process: submitting theory papers whose time ran out while the
candidate's browser was gone (a page load would also do it, but results must not wait for one)."""
from __future__ import annotations

import threading

from .extensions import db


def start_sweeper(app, interval_s: float = 30.0) -> threading.Event:
    """Run ``finalize_overdue`` every ``interval_s`` seconds in a daemon thread; set the returned
    event to stop it."""
    from exams.attempts import finalize_overdue

    stop = threading.Event()

    def loop():
        while not stop.wait(interval_s):
            with app.app_context():
                try:
                    done = finalize_overdue(db.session)
                    if done:
                        app.logger.info("submitted %d overdue theory attempt(s)", done)
                except Exception:  # keep sweeping after a transient database error
                    app.logger.exception("overdue-attempt sweep failed")
                    db.session.rollback()
                finally:
                    db.session.remove()

    threading.Thread(target=loop, name="attempt-sweeper", daemon=True).start()
    return stop
