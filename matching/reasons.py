"""Why a tender was matched to a structure: structured reasons, rendered per language.

A `Reason` is data (a kind and string parameters) so that it can be stored as JSON with the match
and rendered later in the member's language. Labels (CPV, département, region) are looked up at
rendering time, so a stored reason follows the reference data and the language.

Kinds and parameters:
- "cpv": code (the tender's code), field (the profile's code), relation ("equal" | "within": the
  tender code lies below the field | "broader": the tender code is above the field), lot (number,
  only when the code comes from a lot);
- "keyword": keyword (as the structure typed it), words (the words of the tender that matched it,
  as the notice wrote them: "nettoyage des locaux" for the keyword "nettoyage de locaux"; absent
  in reasons stored before they were recorded);
- "area": scope ("departement" | "region" | "france" | "national"), departement (code, absent for
  "national"), region (code, for "region");
- "reserved": reserved ("siae" | "disability" | "both");
- "social_clause": no parameter.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from locales import N_, gettext_for
from reference.cpv import cpv_get
from reference.geography import departement, region
from reference.text import fold


@dataclass(frozen=True, slots=True)
class Reason:
    kind: str
    params: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, kind: str, **params: str | None) -> Reason:
        """`Reason.of("cpv", code="77310000", field="77300000")`; None parameters are left out."""
        return cls(kind, tuple(sorted((k, str(v)) for k, v in params.items() if v is not None)))

    def get(self, key: str, default: str | None = None) -> str | None:
        for name, value in self.params:
            if name == key:
                return value
        return default

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, **dict(self.params)}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Reason:
        params = {key: str(value) for key, value in data.items() if key != "kind"}
        return cls.of(str(data["kind"]), **params)


def reasons_to_json(reasons: Iterable[Reason]) -> list[dict[str, str]]:
    return [reason.to_dict() for reason in reasons]


def reasons_from_json(data: Iterable[Mapping[str, object]]) -> tuple[Reason, ...]:
    return tuple(Reason.from_dict(item) for item in data)


_CPV_MESSAGES = {
    "equal": N_("CPV {cpv}, one of your fields"),
    "within": N_("CPV {cpv}, within your field {field}"),
    "broader": N_("CPV {cpv}, which covers your field {field}"),
}
_AREA_MESSAGES = {
    "departement": N_("{departement} is in your area"),
    "region": N_("{departement} is in your region {region}"),
    "france": N_("{departement}: you cover all of France"),
    "national": N_("national tender, open to every area"),
}
_RESERVED_MESSAGES = {
    "siae": N_("reserved for SIAE"),
    "disability": N_("reserved for EA and ESAT"),
    "both": N_("reserved for SIAE, EA and ESAT"),
}


def _cpv_text(code: str, lang: str) -> str:
    cpv = cpv_get(code)
    return f"{code} {cpv.label(lang)}" if cpv else code


def _departement_text(code: str) -> str:
    # "Loire (42)": the name a person knows, then the code used on every form.
    dept = departement(code)
    return f"{dept.name} ({dept.code})" if dept else code


def render_reason(reason: Reason, lang: str) -> str:
    """One reason as a short phrase in `lang` ("fr" or "en")."""
    _ = gettext_for(lang)
    kind = reason.kind
    if kind == "cpv":
        relation = reason.get("relation", "within")
        text = _(_CPV_MESSAGES.get(relation, _CPV_MESSAGES["within"])).format(
            cpv=_cpv_text(reason.get("code", ""), lang), field=reason.get("field", "")
        )
        lot = reason.get("lot")
        return _("lot {lot}: {reason}").format(lot=lot, reason=text) if lot else text
    if kind == "keyword":
        keyword, words = reason.get("keyword", ""), reason.get("words")
        # The tender's own words, unless they are the keyword itself (case and accents aside).
        if words and fold(words) != fold(keyword):
            return _("keyword “{keyword}”: the tender says “{words}”").format(
                keyword=keyword, words=words
            )
        return _("keyword “{keyword}”").format(keyword=keyword)
    if kind == "area":
        scope = reason.get("scope", "departement")
        reg = region(reason.get("region"))
        return _(_AREA_MESSAGES.get(scope, _AREA_MESSAGES["departement"])).format(
            departement=_departement_text(reason.get("departement", "")),
            region=reg.name if reg else reason.get("region", ""),
        )
    if kind == "reserved":
        return _(_RESERVED_MESSAGES.get(reason.get("reserved", "both"), _RESERVED_MESSAGES["both"]))
    if kind == "social_clause":
        return _("social clause (part of the hours goes to people in insertion)")
    return kind


def render_reasons(reasons: Iterable[Reason], lang: str) -> list[str]:
    return [render_reason(reason, lang) for reason in reasons]
