"""The Flask application factory."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, render_template_string
from flask_wtf.csrf import CSRFProtect
from werkzeug.routing import IntegerConverter

from server import config as cfg
from server import db

csrf = CSRFProtect()

#: Sent with every response. No page runs scripts; the login pages carry their own <style>.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'none'; style-src 'self' "
                               "'unsafe-inline'; img-src 'self' data:; object-src 'none'; "
                               "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


class RowIdConverter(IntegerConverter):
    """``<int:...>`` in routes: ids are 64-bit SQLite integers, so a larger number is a 404
    rather than an overflow inside the query."""

    def __init__(self, url_map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(url_map, *args, **kwargs)


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response

_FALLBACK_HOME = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>RehabLink</title></head><body><main><h1>RehabLink</h1>
{% if g.physio %}<p>Logged in as {{ g.physio.name }}.</p>{% elif g.patient %}<p>Welcome.</p>
{% else %}<p><a href="{{ url_for('auth.login') }}">Log in</a></p>{% endif %}
{% if g.physio or g.patient %}<form method="post" action="{{ url_for('auth.logout') }}">
<input type="hidden" name="csrf_token" value="{{ csrf_token() }}">
<button type="submit">Log out</button></form>{% endif %}</main></body></html>"""


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the server app.

    Parameters
    ----------
    test_config : dict, optional
        Settings that override everything else (tests). ``INSTANCE_PATH`` chooses the instance
        directory (default ``REHAB_SERVER_INSTANCE`` or ``rehab_home()/server``).

    The database defaults to ``<instance>/rehablink.db``; the secret key is generated on first
    run into ``<instance>/secret_key`` (0600). If the ``dashboards`` package has a
    ``register(app)`` function, it is called to add its blueprints.
    """
    overrides = dict(test_config or {})
    env = cfg.from_environment()
    instance = Path(overrides.pop("INSTANCE_PATH", None) or env.pop("INSTANCE", None)
                    or cfg.default_instance_path())
    instance.mkdir(parents=True, exist_ok=True, mode=0o700)
    app = Flask(__name__, instance_path=str(instance.resolve()))
    app.url_map.converters["int"] = RowIdConverter
    app.after_request(_security_headers)
    app.config.update(cfg.DEFAULTS)
    app.config.update(cfg.from_instance_file(instance))
    app.config.update(env)
    app.config.update(overrides)
    app.config.setdefault("DATABASE", str(instance / "rehablink.db"))
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = cfg.secret_key(instance)

    db.init_app(app)
    csrf.init_app(app)

    from server import auth
    from server.api import bp as api_bp
    from server.api import register_error_handlers
    from server.api.clinic import bp as clinic_bp

    app.register_blueprint(auth.bp)
    app.register_blueprint(api_bp)
    csrf.exempt(api_bp)  # bearer-token API: no cookies, so no cross-site request forgery
    app.register_blueprint(clinic_bp)  # cookie-authenticated: CSRF stays on
    register_error_handlers(app)

    @app.get("/healthz")
    def healthz() -> Response:
        """Liveness and database check."""
        db.get_db().execute("SELECT 1")
        return jsonify(status="ok")

    _register_dashboards(app)
    if not any(rule.rule == "/" for rule in app.url_map.iter_rules()):
        app.add_url_rule("/", "home", lambda: render_template_string(_FALLBACK_HOME))
    return app


def _register_dashboards(app: Flask) -> None:
    if os.environ.get("REHAB_SERVER_NO_DASHBOARDS"):
        return
    try:
        module = importlib.import_module("dashboards")
    except ImportError:
        return
    register = getattr(module, "register", None)
    if callable(register):
        register(app)
