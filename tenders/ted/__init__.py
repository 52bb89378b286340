"""TED (Tenders Electronic Daily, the EU journal): notices into the normalised `Tender`.

Three inputs, one output, one module each:
- eForms UBL XML notices (ContractNotice, ContractAwardNotice, PriorInformationNotice):
  `eforms.parse_eforms`;
- TED-export R2.0.9 XML notices (root TED_EXPORT, the format before eForms):
  `export.parse_ted_export`;
- results of the search API v3 (`POST /v3/notices/search`, JSON): `search.parse_search_result`
  for one, `search.parse_search_results` for a batch (bad ones skipped with a reason),
  `search.parse_search_page` for a saved answer.
`notice.parse_notice` reads either XML format (it dispatches on the root element).
`client.search_since` is the httpx client of the search API, `client.fetch_notice_xml` fetches a
result's XML. Parsing is pure; only the client does I/O. `values` reads what every format writes
(numbers, dates, places, codes), `reservation` the reserved contracts and social clauses.

Choices worth knowing (each is also said where it is made):
- `source_id` is the TED publication number in canonical form, "91489-2019": the OJ S number
  without leading zeros, a dash, the year. TED writes the same number "00091489-2019" in eForms,
  "091489-2019" in TED-export and "2019/S 040-091489" in the OJ reference, and the search API
  writes "91489-2019"; `tenders.ted_ref.normalise_ted_ref` maps all of them to one form so that
  a notice read from XML and from the API is the same tender. A notice not yet published (no
  publication number, e.g. the eForms SDK examples) falls back to its eForms notice id (a UUID).
- `procedure`: the eForms procedure code (`tenders.procedure`); TED-export's PT_* elements are
  mapped onto it.
- `refers_to`: for a change notice, the changed notice's eForms id (UUID, version suffix dropped);
  for an award notice, the earlier notice it cites (publication number, or eForms id).
- `deadline`: the earliest deadline for tenders over the lots (the first date a bidder must
  respect); when the notice only has a deadline for requests to participate (restricted and
  negotiated procedures), that one. A date without a time means the end of that day; a date or
  time without offset is Europe/Paris time (TED-export dates never carry one).
- Lots are kept only when a notice has two lots or more: eForms gives every notice at least one
  lot (LOT-0000 when it is not divided), whose data then fill the tender itself.
- `reserved`: eForms `res-ws` (participation reserved to sheltered workshops and to operators whose
  aim is the integration of disabled or disadvantaged persons) is `Reserved.BOTH`, narrowed to
  `DISABILITY` or `SIAE` when the notice's own text names only one side (L2113-12 / entreprises
  adaptées / ESAT, or L2113-13 / insertion par l'activité économique). `res-pub-ser` (reserved to
  public-service-mission organisations, directive art. 77) is not an ESS reservation: NONE.
  `reserved-execution` is *not* used: in eForms it means the execution is reserved to a
  particular profession (architects…), not to sheltered employment. Search results carry the
  codes but not the text, so a res-ws result stays BOTH (`fetch_notice_xml` gets the full text).
- `social_clause`: the eForms social objective `opp` (employment opportunities for the long-term
  unemployed, disadvantaged or disabled persons), or the words of a clause sociale / d'insertion in
  the execution conditions, award criteria or description. "insertion dans le site" is no clause.
- `departements`: from the places of performance (NUTS 2021, 2016 or 2013 codes); "anywhere" or
  "FR" is every département; a notice without any place takes its buyer's.
- Values: only amounts in euros (or without currency) are kept.
"""


SOURCE = "ted"
NOTICE_URL = "https://ted.europa.eu/en/notice/-/detail/{}"


class TedParseError(ValueError):
    """A notice (XML or search result) that cannot become a tender; the message says why."""


class TedAPIError(RuntimeError):
    """The search API failed for good (after retries), refused the query or answered garbage."""


def notice_url(publication_number: str) -> str:
    return NOTICE_URL.format(publication_number)
