"""Lookup of a structure by SIRET in the public API Recherche d'entreprises.

The diagnostic must work without it: a timeout of 3 s, one retry (after a fifth of a second; none
when the API asks for a longer wait than a member should bear), and any failure returns None so
the member goes on by hand. The retries are those of `tenders.http`, with this budget. Answers are cached in memory (the API rate-limits at 7 requests/s and
a member often types the same SIRET twice).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass

import httpx

from tenders.http import Refused, RetryPolicy, Unavailable, request

log = logging.getLogger(__name__)

TIMEOUT_S = 3.0
# Two tries in all; a Retry-After over a second means the answer would come too late anyway.
RETRY = RetryPolicy(attempts=2, backoff=0.2, max_wait=1.0, jitter=0.1, give_up_after=1.0)
CACHE_TTL_S = 24 * 3600
_CACHE_MAX = 2048


@dataclass(frozen=True, slots=True)
class CompanyInfo:
    siren: str
    siret: str
    name: str
    legal_form: str | None
    naf: str | None
    departement: str | None
    is_ess: bool
    is_siae: bool
    siae_type: str | None
    is_association: bool
    active: bool


class LookupUnavailable(Exception):
    """The API did not answer usefully (down, slow, rate-limited, malformed)."""


def parse_search_answer(payload: dict, siret: str) -> CompanyInfo | None:
    """The company owning `siret` in a /search answer, or None when the API does not know it."""
    siren = siret[:9]
    for result in payload.get("results") or []:
        if result.get("siren") != siren:
            continue
        etablissement = _etablissement(result, siret)
        complements = result.get("complements") or {}
        name = result.get("nom_complet") or result.get("nom_raison_sociale") or ""
        departement = etablissement.get("departement") or _dep_from_postcode(
            etablissement.get("code_postal")
        )
        return CompanyInfo(
            siren=siren,
            siret=siret,
            name=name.strip(),
            legal_form=result.get("nature_juridique"),
            naf=etablissement.get("activite_principale") or result.get("activite_principale"),
            departement=departement,
            is_ess=bool(complements.get("est_ess")),
            is_siae=bool(complements.get("est_siae")),
            siae_type=complements.get("type_siae"),
            is_association=bool(complements.get("est_association")),
            active=(etablissement.get("etat_administratif") or result.get("etat_administratif"))
            != "F",
        )
    return None


def _etablissement(result: dict, siret: str) -> dict:
    for etab in result.get("matching_etablissements") or []:
        if etab.get("siret") == siret:
            return etab
    return result.get("siege") or {}


def _dep_from_postcode(postcode: str | None) -> str | None:
    if not postcode or len(postcode) != 5 or not postcode.isdigit():
        return None
    if postcode.startswith("97"):
        return postcode[:3]
    if postcode.startswith("20"):  # Corsica: 200xx-201xx is 2A, 202xx-206xx 2B
        return "2A" if postcode < "20200" else "2B"
    return postcode[:2]


class CompanyLookup:
    def __init__(self, base_url: str, client: httpx.AsyncClient | None = None,
                 retry: RetryPolicy = RETRY):
        self.base_url = base_url
        self._client = client
        self._retry = retry
        self._cache: dict[str, tuple[float, CompanyInfo | None]] = {}

    async def _get(self, siret: str) -> dict:
        client = self._client or httpx.AsyncClient(timeout=TIMEOUT_S)
        try:
            response = await request(
                client, "GET", self.base_url, policy=self._retry, what="company API",
                params={"q": siret, "page": 1, "per_page": 5}, timeout=TIMEOUT_S,
            )
            return response.json()
        except (Unavailable, Refused, httpx.HTTPError, ValueError) as exc:
            raise LookupUnavailable(str(exc)) from None
        finally:
            if self._client is None:
                await client.aclose()

    async def lookup(self, siret: str) -> CompanyInfo | None:
        """The company for a valid SIRET; None when unknown. Raises LookupUnavailable."""
        cached = self._cache.get(siret)
        if cached and time.monotonic() - cached[0] < CACHE_TTL_S:
            return cached[1]
        payload = await self._get(siret)
        if not isinstance(payload, dict):
            raise LookupUnavailable("unexpected answer")
        info = parse_search_answer(payload, siret)
        if len(self._cache) >= _CACHE_MAX:
            self._cache.pop(next(iter(self._cache)))
        self._cache[siret] = (time.monotonic(), info)
        return info
