"""Trainer tools for the theory question bank: browse, edit, retire, import/export, item analysis."""
from .views import bp

__all__ = ["bp"]
