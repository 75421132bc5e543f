"""Casework forms (Flask-WTF: CSRF on every one)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

from .i18n import ROLE_LABELS
from .models import Role


class LoginForm(FlaskForm):
    """User name, password and the current TOTP code, in one step."""

    username = StringField(_l("User name"), validators=[DataRequired(), Length(max=64)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    code = StringField(_l("Code from your authenticator app"),
                       validators=[Length(max=10)],
                       description=_l("Six digits. Leave empty at your very first sign-in."))


class EnrolForm(FlaskForm):
    """First sign-in (or after a reset): confirm TOTP and choose a password."""

    code = StringField(_l("Code from your authenticator app"),
                       # [0-9], not \d: \d also matches other scripts' digits, which
                       # no authenticator app shows and TOTP cannot compare.
                       validators=[DataRequired(), Regexp(r"^\s*[0-9]{6}\s*$",
                                                          message=_l("Six digits."))])
    new_password = PasswordField(_l("New password"),
                                 validators=[DataRequired(), Length(min=12, max=200)])
    confirm = PasswordField(_l("New password again"),
                            validators=[EqualTo("new_password", _l("The passwords differ."))])
    previous_password = PasswordField(
        _l("Previous password (only after a reset, to keep your key)"),
        validators=[Length(max=200)])


class CreateUserForm(FlaskForm):
    """An administrator adds a person to a unit with one role."""

    username = StringField(_l("User name"), validators=[
        DataRequired(), Length(min=2, max=64),
        # \Z, not $: WTForms uses re.match, and $ also matches before a final newline.
        Regexp(r"^[a-z0-9._-]+\Z", message=_l("Lower-case letters, digits, . _ - only."))])
    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    unit = SelectField(_l("Unit"), validators=[DataRequired()])
    role = SelectField(_l("Role"),
                       choices=[SelectChoice(r.value, ROLE_LABELS[r]) for r in Role],
                       validators=[DataRequired()])
    # Checked by the domain (casework.accounts.check_address): the refusal names the rule.
    email = StringField(_l("E-mail address (optional)"), validators=[Length(max=254)],
                        description=_l("For deadline reminders only: counts and a link, "
                                       "never case content."))


class EmailForm(FlaskForm):
    """An administrator sets or clears one person's e-mail address (deadline reminders)."""

    email = StringField(_l("E-mail address"), validators=[Length(max=254)])


class ReplyForm(FlaskForm):
    """A reply to the tipster."""

    text = TextAreaField(_l("Reply to the tipster"),
                         validators=[DataRequired(), Length(max=20_000)],
                         description=_l("Sealed to the tipster's receipt key and sent as "
                                        "plain text (any markup is removed)."))
    feedback = BooleanField(_l("This reply is the feedback to the tipster"),
                            description=_l("Feedback tells the tipster what has been done or "
                                           "is planned, due within three months. The first "
                                           "reply marked so records the feedback date."))


class NoteForm(FlaskForm):
    """An internal note."""

    text = TextAreaField(_l("Internal note"), validators=[DataRequired(), Length(max=20_000)],
                         description=_l("Encrypted to the case's readers. Never shown to the "
                                        "tipster. Simple markup (bold, italics, lists) is "
                                        "kept."))


class AssignForm(FlaskForm):
    """A unit lead gives a case to a person."""

    person = SelectField(_l("Give this case to"), validators=[DataRequired()])


class ActionForm(FlaskForm):
    """A bare form for a button that changes state (carries the CSRF token)."""
