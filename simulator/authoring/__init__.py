"""Scenario authoring for trainers (list, edit as a form or YAML, validate, hear the caller's lines,
try as a trainee, import/export, versions)."""
from .views import bp

__all__ = ["bp"]
