"""Home, per-role dashboards and the health check."""
from .views import bp

__all__ = ["bp"]
