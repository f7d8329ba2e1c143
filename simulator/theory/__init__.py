"""Theory exams in the browser: mock papers and practice for trainees (certification papers are
started from a sitting and taken with the same pages)."""
from .views import bp

__all__ = ["bp"]
