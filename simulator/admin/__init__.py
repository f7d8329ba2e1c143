"""Administration: user accounts (create, edit, disable, reset password, bulk import)."""
from .views import bp

__all__ = ["bp"]
