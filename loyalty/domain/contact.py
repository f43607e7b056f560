"""Contact details in one canonical form, so the same person is recognised however they write
their e-mail address or phone number."""

from __future__ import annotations

import phonenumbers

#: The channels a member may consent to be reached by.
CHANNELS = ("sms", "email", "push", "phone")


def normalise_email(email: str | None) -> str | None:
    """The address trimmed and lower-cased; None when blank."""
    text = email.strip().lower() if email else ""
    return text or None


def normalise_phone(phone: str | None, default_region: str) -> str | None:
    """The number in E.164 form (`+8613800000001`); a number without its country code is read
    in `default_region` (ISO 3166 code such as CN). Raises ValueError for an invalid number."""
    if phone is None or not phone.strip():
        return None
    try:
        number = phonenumbers.parse(phone.strip(), default_region.upper())
    except phonenumbers.NumberParseException as error:
        raise ValueError("Not a valid phone number.") from error
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"Not a valid phone number for region {default_region.upper()} "
                         "(give the country code, e.g. +86).")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
