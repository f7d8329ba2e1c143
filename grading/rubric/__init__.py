"""The rubric engine: grades a ``call-record/1`` document against a scenario's rubric.

Pure Python (no web framework): ``grade(record, scenario)`` returns a ``GradeResult``;
``match_phrase`` / ``match_intent`` are the ASR-tolerant Chinese phrase matching it uses, shared with
the call runtime's branch selection. Command line: ``python -m grading.rubric score --help``.
"""
from .engine import KINDS, RubricError, grade, load_common, regrade
from .matching import (
                       CREDIT_THRESHOLD,
                       FORBIDDEN_MIN_CONFIDENCE,
                       REVIEW_THRESHOLD,
                       Match,
                       find_forbidden,
                       match_intent,
                       match_phrase,
)
from .results import PASS_MARK, GradeResult, ItemResult
from .totals import FATAL_CAP, call_total

__all__ = ["CREDIT_THRESHOLD", "FATAL_CAP", "FORBIDDEN_MIN_CONFIDENCE", "KINDS", "PASS_MARK", "REVIEW_THRESHOLD",
           "GradeResult", "ItemResult", "Match", "RubricError", "call_total", "find_forbidden", "grade", "load_common",
           "match_intent", "match_phrase", "regrade"]
