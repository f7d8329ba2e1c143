"""The text-mode goals of issue 15 on every labelled suite present: the main suite (grading/validity/calls/)
and the held-out one (grading/validity/holdout/) written by another assessor, once it is in the tree.

Goals met on the main suite at the time of writing: pass/fail agreement >= 95 %, no rude call passed
automatically, behaviour detection >= 90 %."""
from __future__ import annotations

from pathlib import Path

import pytest

from grading.validity import run_suite, summarise

SUITES = [p for p in (Path(__file__).resolve().parents[1] / "grading" / "validity" / name
                      for name in ("calls", "holdout")) if p.is_dir() and any(p.glob("*.y*ml"))]


@pytest.fixture(scope="module", params=SUITES, ids=lambda p: p.name)
def figures(request):
    return summarise(run_suite(request.param))


def test_pass_fail_agreement_is_at_least_95_percent(figures):
    assert figures["overall"]["agreement"] >= 0.95, figures["overall"]


def test_no_rude_call_passes_automatically(figures):
    assert figures["rude"]["calls"] > 0 and figures["rude"]["passed_automatically"] == 0, figures["rude"]


def test_behaviour_detection_is_at_least_90_percent(figures):
    assert figures["behaviour"]["detection"] >= 0.90, figures["behaviour"]


def test_the_main_suite_is_there():
    assert SUITES and SUITES[0].name == "calls"
