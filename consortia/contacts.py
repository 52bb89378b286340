"""Contact details in a groupement, shared field by field by each member: its contact name,
email, phone and Telegram username. Only the groupement's current members read them, and only
what each one chose; an erased member's details are never shown again.
"""

from __future__ import annotations

import re

from sqlmodel import Session

from alerts.message import Action, Intent, Message, line
from alerts.render import cut
from locales import gettext_for
from store.consortia_models import GroupementMember
from store.models import Member

FIELDS = ("name", "email", "phone", "telegram")
_PHONE = re.compile(r"^(?:\+33|0033|0)([1-9]\d{8})$|^\+([1-9]\d{7,14})$")


def field_label(field: str, lang: str) -> str:
    _ = gettext_for(lang)
    return {"name": _("Name"), "email": _("Email"), "phone": _("Phone"),
            "telegram": _("Telegram")}[field]


def field_text(field: str, value: str, lang: str) -> str:
    _ = gettext_for(lang)
    return _("{field}: {value}").format(field=field_label(field, lang), value=value)


def value_of(member: Member, field: str) -> str | None:
    if field == "name":
        return member.contact_name
    if field == "email":
        return member.email
    if field == "phone":
        return member.phone
    return f"@{member.telegram_username}" if member.telegram_username else None


def normalise_phone(raw: str) -> str | None:
    """"06 12 34 56 78", "+33 6 12…", "0033…" -> "+33612345678"; another country's "+…" kept;
    anything else None."""
    digits = re.sub(r"[\s.\-()/]", "", raw or "")
    found = _PHONE.match(digits)
    if found is None:
        return None
    return f"+33{found.group(1)}" if found.group(1) else f"+{found.group(2)}"


def set_phone(session: Session, member: Member, raw: str) -> bool:
    """Store a phone number given by the member; False (nothing changed) when it is not one."""
    phone = normalise_phone(raw)
    if phone is None:
        return False
    member.phone = phone
    session.add(member)
    return True


def shared_lines(rows: list[tuple[GroupementMember, Member | None, str]], viewer_id: int,
                 lang: str) -> list[str]:
    """"Jardins du Velay — Email: a@b.fr · Phone: +33…" for each other member who shares."""
    out = []
    for row, member, label in rows:
        if member is None or member.id == viewer_id or not row.shared:
            continue
        shown = [field_text(f, cut(row.shared[f], 100), lang) for f in FIELDS
                 if row.shared.get(f)]
        if shown:
            out.append(f"{label} — " + " · ".join(shown))
    return out


def share_screen(row: GroupementMember, member: Member, lang: str) -> Message:
    _ = gettext_for(lang)
    lines = [line(_("Choose what the other members of groupement no. {id} may read; choosing a "
                    "field again stops sharing it.").format(id=row.groupement_id))]
    missing = [field_label(f, lang) for f in FIELDS if value_of(member, f) is None]
    if missing:
        lines.append(line(_("Not known yet: {fields}.").format(fields=", ".join(missing))))
        if value_of(member, "phone") is None:
            lines.append(line(_("Add a phone number with /telephone followed by the number."),
                              telegram_only=True))
    buttons = tuple((Action(Intent.GROUPEMENT_SHARE, field_text(f, cut(value_of(member, f), 40),
                                                                lang),
                            target=row.groupement_id, arg=f,
                            selected=bool((row.shared or {}).get(f))),)
                    for f in FIELDS if value_of(member, f) is not None)
    return Message(_("Share my contact details"), (tuple(lines),), actions=buttons, icon="📇")


def toggle(row: GroupementMember, member: Member, field: str) -> bool | None:
    """Share or stop sharing one field; True shared, False unshared, None: no such value."""
    shared = dict(row.shared or {})
    if field in shared:
        del shared[field]
        row.shared = shared
        return False
    value = value_of(member, field)
    if value is None:
        return None
    shared[field] = value
    row.shared = shared
    return True
