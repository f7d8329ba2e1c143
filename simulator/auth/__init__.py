"""Accounts, roles, sign-in and access rules."""
from .access import login_required_any, public, roles_required
from .models import ROLE_LABELS, LoginFailure, Role, User

__all__ = ["ROLE_LABELS", "LoginFailure", "Role", "User", "login_required_any", "public", "roles_required"]
