"""Theory exams: question bank, level blueprints, paper assembly, attempts, scoring and item analysis.

Public surface (the web app and the CLI use only these):
- bank files and validation: ``load_bank``, ``Question``, ``Problem``, ``BANK_DIR``
- blueprints: ``load_blueprints``, ``Blueprint``, ``LEVEL_NAMES``
- assembly and scoring: ``assemble``, ``composition``, ``PaperError``, ``score_item``
- database-backed exam life cycle: see ``exams.attempts``, ``exams.bank_io``, ``exams.analysis``
  (they take a SQLAlchemy session and load the ORM, so they are imported explicitly, not here)
"""
from .assembly import PaperError, assemble, composition
from .blueprint import LEVEL_NAMES, Blueprint, load_blueprints
from .question_bank import BANK_DIR, Problem, Question, load_bank
from .scoring import score_item

__all__ = ["BANK_DIR", "LEVEL_NAMES", "Blueprint", "PaperError", "Problem", "Question", "assemble",
           "composition", "load_blueprints", "load_bank", "score_item"]
