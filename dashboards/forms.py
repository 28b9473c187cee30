"""The prescription editor form (Flask-WTF: CSRF token checked on submit).

The form has one row per exercise; rows whose exercise is left empty are ignored, so the
physiotherapist can add exercises in the blank rows without JavaScript.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    FieldList,
    FloatField,
    Form,
    FormField,
    IntegerField,
    SelectField,
    StringField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError

from rehablink.exercises import EXERCISES
from server.text import text_problem


def plain_text(newlines: bool = False) -> Any:
    """A field validator: no control characters or text-direction overrides
    (see :func:`server.text.text_problem`)."""

    def check(form: Any, field: Any) -> None:
        problem = text_problem(field.data or "", newlines=newlines)
        if problem:
            raise ValidationError(f"This field {problem}.")

    return check

#: Blank rows offered under the current exercises.
BLANK_ROWS = 3
MAX_ROWS = 20


class ItemForm(Form):
    """One exercise row (no CSRF field of its own: the enclosing form carries it)."""

    exercise = SelectField("Exercise", choices=[SelectChoice("", "— none —")] +
                           [SelectChoice(e.id, e.name) for e in EXERCISES.values()],
                           validators=[Optional()])
    sets = IntegerField("Sets", validators=[Optional(), NumberRange(1, 20)])
    reps = IntegerField("Reps", validators=[Optional(), NumberRange(1, 100)])
    hold_s = FloatField("Hold (s)", validators=[Optional(), NumberRange(0.5, 120)])
    days_per_week = IntegerField("Days per week", validators=[Optional(), NumberRange(1, 7)])
    note = StringField("Note", validators=[Optional(), Length(max=500), plain_text(True)])

    def validate(self, extra_validators: Any = None) -> bool:
        """A row with an exercise needs sets, reps and days per week."""
        ok = bool(super().validate(extra_validators))
        if self.exercise.data:
            for field in (self.sets, self.reps, self.days_per_week):
                if field.data is None and not field.errors:
                    field.errors = [*field.errors, f"{field.label.text} is required"]
                    ok = False
        return ok


class PrescriptionForm(FlaskForm):
    """A new version of the plan, applying from a date (today or later)."""

    effective_from = DateField("Applies from", validators=[DataRequired()])
    items = FieldList(FormField(ItemForm), min_entries=1, max_entries=MAX_ROWS)

    def filled_items(self) -> list[dict[str, Any]]:
        """The rows with an exercise, as plan-document items."""
        return [{"exercise": row.exercise.data, "sets": row.sets.data, "reps": row.reps.data,
                 "hold_s": row.hold_s.data, "days_per_week": row.days_per_week.data,
                 "note": (row.note.data or "").strip()}
                for row in self.items if row.exercise.data]


def prefilled(items: list[dict[str, Any]], today: date) -> PrescriptionForm:
    """A form holding the current plan's items plus :data:`BLANK_ROWS` empty rows."""
    form = PrescriptionForm(formdata=None)
    form.effective_from.data = today
    while len(form.items):
        form.items.pop_entry()
    for item in items[:MAX_ROWS]:
        form.items.append_entry(item)
    for _ in range(min(BLANK_ROWS, MAX_ROWS - len(items))):
        form.items.append_entry()
    return form
