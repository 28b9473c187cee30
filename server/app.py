"""The Flask application factory."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

from flask import Flask, Response, jsonify, render_template_string
from flask_wtf.csrf import CSRFProtect

from server import config as cfg
from server import db

csrf = CSRFProtect()

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
