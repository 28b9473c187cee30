"""Friendly error pages, in the dashboards' layout, for the errors their views raise."""

from __future__ import annotations

from flask import Blueprint, render_template
from werkzeug.exceptions import HTTPException

#: Friendly pages for the errors the dashboards' views raise (status -> heading, message).
ERROR_PAGES: dict[int, tuple[str, str]] = {
    400: ("The request was not understood",
          "The form may have expired. Go back, reload the page and try again."),
    403: ("Not available", "This page needs a login. Open the link from your RehabLink app "
          "again, or ask your physiotherapist for a new one."),
    404: ("Not found", "There is no such page, or it belongs to someone else's record."),
}


def _error_page(error: HTTPException) -> tuple[str, int]:
    code = error.code or 500
    heading, message = ERROR_PAGES.get(code, ("Something went wrong", "Please try again."))
    return render_template("dashboards/error.html", heading=heading, message=message), code


def attach(blueprint: Blueprint) -> None:
    """Render :data:`ERROR_PAGES` for aborts inside ``blueprint``'s views (call before it is
    registered on an app)."""
    for code in ERROR_PAGES:
        blueprint.register_error_handler(code, _error_page)
