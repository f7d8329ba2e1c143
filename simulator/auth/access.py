"""Who may open what. Every view declares its audience; a view that declares nothing is refused.

    @roles_required(Role.ADMIN)      only these roles
    @login_required_any              any signed-in user
    @public                          anyone (login page, health check, certificate verification)

The check runs in one ``before_request`` hook for the whole app, so a forgotten decorator denies
access instead of opening a page.
"""
from __future__ import annotations

from flask import abort, current_app, redirect, request, url_for
from flask_login import current_user

from .models import Role

PUBLIC = "public"
ANY_USER = "any-user"
_ACCESS_ATTR = "_access_rule"


def _mark(view, rule):
    setattr(view, _ACCESS_ATTR, rule)
    return view


def public(view):
    return _mark(view, PUBLIC)


def login_required_any(view):
    return _mark(view, ANY_USER)


def roles_required(*roles: Role):
    allowed = frozenset(Role(r) for r in roles)
    if not allowed:
        raise ValueError("roles_required needs at least one role")

    def decorator(view):
        return _mark(view, allowed)

    return decorator


def access_rule(view):
    """The rule a view declared, looking through functools.wraps layers."""
    while view is not None:
        rule = getattr(view, _ACCESS_ATTR, None)
        if rule is not None:
            return rule
        view = getattr(view, "__wrapped__", None)
    return None


# Paths a user who must change the password may still open (every other one, public pages included,
# redirects to the change-password page until it is done).
_PASSWORD_CHANGE_ENDPOINTS = {"auth.change_password", "auth.logout", "static", "main.healthz"}


def enforce_access():
    """before_request hook: apply the declared rule of the matched view (deny by default)."""
    if request.endpoint is None:  # no route matched: let the 404/405 handler answer
        return None
    if request.endpoint == "static":
        return None
    view = current_app.view_functions.get(request.endpoint)
    rule = access_rule(view)
    if rule is None:
        current_app.logger.error("view %s declares no access rule: refused", request.endpoint)
        abort(403)
    if rule == PUBLIC:
        if current_user.is_authenticated and current_user.must_change_password \
                and request.endpoint not in _PASSWORD_CHANGE_ENDPOINTS:
            return redirect(url_for("auth.change_password"))
        return None
    if not current_user.is_authenticated:
        if request.accept_mimetypes.best == "application/json" or request.is_json:
            abort(401)
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
    if current_user.must_change_password and request.endpoint not in _PASSWORD_CHANGE_ENDPOINTS:
        return redirect(url_for("auth.change_password"))
    if rule == ANY_USER:
        return None
    if current_user.role_enum not in rule:
        abort(403)
    return None


def wants_role(*roles: Role):
    """For templates and views: does the current user hold one of these roles?"""
    return current_user.is_authenticated and current_user.role_enum in {Role(r) for r in roles}

