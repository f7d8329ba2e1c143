"""Trainee progress and staff analytics."""
from .views import bp

__all__ = ["bp"]
