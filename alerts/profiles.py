"""Structures as matching profiles: the stored rows turned into `matching.profile.Profile`."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from locales import normalise_language
from matching.profile import Profile
from store.models import Member, Structure


def profile_from_structure(structure: Structure, language: str | None = None) -> Profile:
    return Profile(
        structure_id=structure.id,
        name=structure.name,
        family=structure.family,
        cpv_codes=tuple(structure.cpv_codes or ()),
        departements=tuple(structure.departements or ()),
        all_france=structure.all_france,
        keywords=tuple(structure.keywords or ()),
        excluded_keywords=tuple(structure.excluded_keywords or ()),
        max_contract_value=structure.max_contract_value,
        siret=structure.siret,
        language=normalise_language(language),
    )


def structure_languages(session: Session) -> dict[int, str | None]:
    """The language of each structure: that of its first member who chose one (reasons are
    rendered in it); structures without such a member fall back to French."""
    languages: dict[int, str | None] = {}
    query = (
        select(Member.structure_id, Member.language)
        .where(Member.structure_id.is_not(None), Member.language.is_not(None))
        .order_by(Member.id)
    )
    for structure_id, language in session.execute(query):
        languages.setdefault(structure_id, language)
    return languages


def load_profiles(session: Session) -> list[Profile]:
    """Every structure, as a profile (an imported structure without members is matched too: its
    matches are the advisors' to share)."""
    languages = structure_languages(session)
    structures = session.execute(select(Structure).order_by(Structure.id)).scalars()
    return [profile_from_structure(s, languages.get(s.id)) for s in structures]
