"""BOAMP (Bulletin officiel des annonces des marchés publics): the open-data API and its notices.

Two inputs, one output (`tenders.model.Tender`):
- records of the opendatasoft API: `client.fetch_since` fetches them, `record.parse_record` /
  `record.parse_records` / `record.parse_api_answer` read them;
- raw BOAMP XML notices (root <ANNONCE>, schema Boamp_v230): `xml_notice.parse_xml`.

Modules: `client` (the API), `record` (record -> Tender), `formats` (which shape `donnees` has)
with one reader per shape (`v230`, `national` for MAPA/FNSimple/DSP, `eforms`), `body` (what a
reader returns), `tree` (helpers over xmltodict-shaped trees), `dates`, `xml_notice`.

A record carries flat fields (idweb, objet, nomacheteur, dateparution, datelimitereponse,
code_departement…) and two JSON *strings*: `gestion` (BOAMP's management block) and `donnees`
(the notice itself). The shape of `donnees` depends on the form the buyer filled in:
- the Boamp_v230 shape (JOUE/MAPA/FNS notices until about 2019, and the raw XML notices):
  `{"IDENTITE":…, "OBJET": {"TITRE_MARCHE", "OBJET_COMPLET", "CPV": {"PRINCIPAL"}, "LOTS"…},
  "CONDITION_DELAI": {"RECEPT_OFFRES"}, "CONDITION_PARTICIPATION": {"MARCHE_RESERVE_OUI"}…}`;
- `{"FNSimple": {"organisme", "initial": {"natureMarche": {"intitule", "description",
  "codeCPV": {"objetPrincipal": {"classPrincipale"}}, "valeurEstimee"}, "procedure"…}}}`;
- `{"MAPA": {"organisme", "initial": {"description": {"objet"}, "caracteristiques":
  {"principales"}…}}}` (MAPA usually carries no CPV);
- `{"DSP": {… "descriptionMarche": {"titreMarche", "description"}…}}`;
- `{"EFORMS": {"ContractNotice" | "ContractAwardNotice" | …: <eForms UBL as JSON, keys
  "cac:…"/"cbc:…", attributes "@…", text "#text">}}`.
All are the XML converted the xmltodict way: an element repeated becomes a list, once a dict, an
empty element "". So every path is read through `tree.as_list`/`tree.text_of`, which accept each
form.
The paths for the v230 shape are checked against the real samples in ../shared/data/boamp; the
FNSimple/MAPA/DSP/EFORMS paths follow public parsers of the same API and the eForms SDK, and the
CPV codes are also collected wherever the known CPV keys occur, so a path that moves does not
silently lose them.

Choices (each also said where it is made):
- title: the buyer's own title (TITRE_MARCHE, intitule, objet, cbc:Name), else the record's
  `objet` (BOAMP's summary, truncated at 200 characters);
- départements: the place of performance (`code_departement_prestation`) then the publication
  départements (`code_departement`, string or list, "6" -> "06"); without either, the NUTS codes
  of the notice;
- deadline: the notice's own (management block, then form), else `datelimitereponse`; aware,
  Europe/Paris when no offset is given, the end of the day when only a date is given, and a
  "+01:00" stamp read as Paris wall-clock time (BOAMP writes +01:00 in summer too: all five API
  samples close at "12:00+01:00"-style times in April, when Paris is at +02:00);
- estimated value: the notice-level estimate, else the sum of the lots' values when every lot has
  one;
- reserved: structured flags (MARCHE_RESERVE_OUI, eForms `res-ws` on the notice or on every lot)
  and the words of the notice (`tenders.signals.reserved_kind`); social clause: eForms social
  objective `opp`, or the words of a clause sociale anywhere in the notice;
- refers_to (rectificatifs, cancellations, awards): the `annonce_lie`/`annonces_anterieures`
  fields, else the first earlier notice of the management block (the initial call for tenders);
- procedure: a code of `tenders.procedure` (BOAMP's label, else its enumeration, else the form's);
- ted_ref: a TED publication number found in the notice, in TED's canonical form "89000-2015"
  (`tenders.ted_ref`, as `tenders.ted` stores it), so that the store can merge the two copies of
  one tender.
"""


from __future__ import annotations

SOURCE = "boamp"
NOTICE_URL = "https://www.boamp.fr/pages/avis/?q=idweb:{}"


class BoampError(Exception):
    """The API could not be read (after retries), or answered something that is not a page or
    not a BOAMP notice."""
