"""Calibration: machine–assessor agreement from real assessor reviews (staff page and exports)."""
from .views import bp

__all__ = ["bp"]
