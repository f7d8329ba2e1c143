"""Start the simulator on the embedded default: migrations applied, content seeded, served by waitress.

Use ``./run.sh`` (it installs everything first); this file is what it runs.
Environment: PORT (default 5000), HOST (default 127.0.0.1), DATABASE_URL, see README "Configuration".
"""
from __future__ import annotations

import os

from flask_migrate import upgrade
from waitress import serve

from simulator import create_app
from simulator.background import start_sweeper
from simulator.seeding import seed_all


def main() -> None:
    app = create_app()
    with app.app_context():
        upgrade()
        report = seed_all(app)
        from simulator.practical.service import recover_interrupted
        recovered = recover_interrupted()   # calls a previous server process left live
        if recovered:
            print(f"closed {recovered} call(s) left live by the previous server process, graded on what was recorded")
    start_sweeper(app)
    _warm_up_in_background(app)
    host = os.environ.get("HOST", "127.0.0.1")
    port = int(os.environ.get("PORT", "5000"))
    threads = int(os.environ.get("WAITRESS_THREADS", "16"))
    # Every candidate's browser keeps a connection open during an exam; waitress' default of 100
    # would leave the 101st candidate waiting for a connection slot.
    connection_limit = int(os.environ.get("WAITRESS_CONNECTION_LIMIT", "1000"))
    new_accounts = ", ".join(report["demo_accounts"]) or "none new"
    print(f"database ready ({app.config['SQLALCHEMY_DATABASE_URI'].split('://')[0]}); demo accounts: {new_accounts}; "
          f"question bank: {report['question_bank']}")
    print(f"serving on http://{host}:{port}  (Ctrl+C to stop)", flush=True)
    serve(app, host=host, port=port, threads=threads, connection_limit=connection_limit,
          ident="call-center-simulator")


def _warm_up_in_background(app) -> None:
    import threading

    from simulator.practical.service import warm_up

    def run() -> None:
        try:
            warm_up(app.config["ASR_ENGINE"])
        except Exception as exc:        # no model yet: the first call reports it in words, as before
            app.logger.warning("live-call warm-up skipped: %s", exc)

    threading.Thread(target=run, name="warm-up", daemon=True).start()


if __name__ == "__main__":
    main()
