"""Password checks beyond length: predictable passwords refused whatever their length.

Django's ``CommonPasswordValidator`` ships a list of 20,000 passwords taken from breaches, but only
194 of them have the 12 characters the dashboard asks for, so ``passwordpassword`` or ``Password2024!``
pass it. :class:`PredictablePasswordValidator` also refuses:

- a password that is one shorter string repeated (``passwordpassword``, ``abcabcabcabc``);
- a password built from the user name (the name twice, the name and digits);
- a password whose core, once case, repeats and the digits and symbols around it are taken off, is
  on the breached list (``Password2024!``, ``!!dragon1234``), or is a run of one character.

Messages name the rule and never repeat the password.
"""

from __future__ import annotations

import re
from functools import cache

from django.contrib.auth.password_validation import CommonPasswordValidator
from django.core.exceptions import ValidationError


@cache
def _breached() -> frozenset[str]:
    """Django's shipped list (lower case), read once."""
    return frozenset(CommonPasswordValidator().passwords)


def _repeated_unit(text: str) -> str | None:
    """The shorter string ``text`` is a repetition of, if it is one."""
    match = re.fullmatch(r"(.+?)\1+", text)
    return match.group(1) if match else None


def _core(text: str) -> str:
    core = re.sub(r"^[\W\d_]+|[\W\d_]+$", "", text.lower())
    return _repeated_unit(core) or core


class PredictablePasswordValidator:
    def validate(self, password: str, user=None) -> None:
        lowered = password.lower()
        if _repeated_unit(lowered):
            raise ValidationError("This password is one shorter string repeated: choose one that is not.",
                                  code="password_repeated")
        name = (getattr(user, "username", "") or "").lower()
        if name and len(name) >= 3:
            stripped = lowered.replace(name, "")
            if not re.sub(r"[\W\d_]", "", stripped):
                raise ValidationError("This password is built from the user name: choose one that is not.",
                                      code="password_from_user_name")
        core = _core(password)
        if not core or len(set(core)) == 1 or core in _breached():
            raise ValidationError("This password is a common password with digits or symbols added, which is on "
                                  "the lists attackers try first: choose a passphrase of several unrelated words.",
                                  code="password_predictable")

    def get_help_text(self) -> str:
        return ("Your password cannot be a string repeated, built from your user name, or a common password with "
                "digits or symbols added.")
