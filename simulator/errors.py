"""Friendly error pages (Chinese), and JSON errors for API calls."""
from __future__ import annotations

from flask import Response, jsonify, render_template, request
from flask.globals import request_ctx
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from .jsonio import InvalidInput

MESSAGES = {
    400: ("请求无效", "提交的内容无法处理，请返回上一页检查后重试。"),
    401: ("需要登录", "请先登录后再访问此页面。"),
    403: ("没有权限", "您的账号没有访问此页面的权限。如需开通，请联系管理员。"),
    404: ("页面不存在", "您访问的页面不存在或已被移除。"),
    405: ("操作不被允许", "此页面不支持该操作。"),
    413: ("文件太大", "上传的文件超过了大小限制，请压缩或拆分后再上传。"),
    429: ("操作过于频繁", "请稍后再试。"),
    500: ("系统出错了", "服务器处理请求时出错，已记录日志。您已提交的内容不会丢失，请稍后重试。"),
}
CSRF_MESSAGE = "页面已过期或表单校验失败（可能是登录已超时），请刷新页面后重新提交。您已保存的内容不会丢失。"


def _wants_json() -> bool:
    return request.is_json or request.path.startswith("/api/") or \
        request.accept_mimetypes.best == "application/json"


def _respond(code: int, detail: str | None = None):
    title, message = MESSAGES.get(code, (str(code), ""))
    message = detail or message
    if request_ctx.url_adapter is None:
        # The request could not even be routed (e.g. a Host header that is not a valid host name):
        # no url_for, so no page template — a plain answer.
        return Response(f"{title}：{message}", status=code, mimetype="text/plain")
    if _wants_json():
        return jsonify({"error": title, "message": message, "status": code}), code
    return render_template("error.html", code=code, title=title, message=message), code


def register_error_handlers(app) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return _respond(400, CSRF_MESSAGE)

    @app.errorhandler(InvalidInput)
    def invalid_input(exc: InvalidInput):
        return jsonify({"ok": False, "error": exc.message, "message": exc.message, "status": 400}), 400

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code is None or exc.code < 400:
            return exc
        if isinstance(exc, InvalidInput):
            return invalid_input(exc)
        return _respond(exc.code, getattr(exc, "user_message", None))

    @app.errorhandler(Exception)
    def unexpected_error(exc):
        if isinstance(exc, HTTPException):
            return http_error(exc)
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        return _respond(InternalServerError.code)
