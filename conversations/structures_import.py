"""Bulk import of structure profiles from a CSV file (an advisors' directory).

`centrale import structures FILE.csv`

The file is UTF-8 (a BOM, as Excel writes it, is fine), with a header row. Columns are separated
by commas or semicolons (whichever the header uses); inside a cell, several values are separated
by ";" (or "," or "|" when the file itself uses ";"). Column names are case-insensitive; unknown
columns are ignored and listed in the report.

| column              | required | example                  | meaning |
|---------------------|----------|--------------------------|---------|
| `siret`             | yes      | `732 829 320 00074`      | 14 digits, spaces allowed; checked (Luhn key, La Poste exception) |
| `name`              | yes      | `Jardins de Cocagne`     | the structure's name |
| `family`            | no       | `siae_aci` or `ACI`      | association, scop, scic, siae_aci, siae_ei, siae_etti, siae_ai, siae_eiti, ea, esat, geiq, esus, independent (or the SIAE type ACI, EI, ETTI, AI, EITI, EA, ESAT) |
| `departements`      | no       | `42;43`                  | INSEE codes ("6" = "06", "2A"); `all` (or `France`) for all of France |
| `cpv_codes`         | no       | `77310000;90910000`      | CPV codes of the trades, any level, with or without the check digit |
| `keywords`          | no       | `espaces verts;élagage`  | words that describe the trades |
| `excluded_keywords` | no       | `amiante`                | a tender containing one of them is never proposed |
| `max_contract_value`| no       | `150000`                 | largest contract in euros the structure can take on (spaces and € allowed) |
| `email`             | no       | `contact@exemple.org`    | a member reachable by email is created for the structure (once) |
| `language`          | no       | `fr`                     | that member's language (fr or en) |
| `legal_form`        | no       | `9220`                   | INSEE legal form code (nature juridique) |
| `naf`               | no       | `81.30Z`                 | main activity code (NAF rev. 2) |
| `is_ess`            | no       | `oui`                    | yes/no (oui/non, 1/0, true/false) |

A row whose SIRET is already stored updates that structure: the columns present in the file
replace the stored values (an empty cell clears a list or an optional value); columns absent from
the file are left as they are. A row with an error is not imported at all, and the report gives its
line number and the reason; the other rows are imported. A SIRET given twice in one file is
rejected the second time.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select
from sqlmodel import Session
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength, ValidationError
from stdnum.fr import siret as siret_number

from conversations.diagnostic import is_email_address
from locales import N_, gettext_for
from reference import families
from reference.activities import normalise_naf
from reference.cpv import cpv_get, normalise_cpv
from reference.geography import normalise_departement, sort_departements
from store.models import Member, Structure

COLUMNS = ("siret", "name", "family", "departements", "cpv_codes", "keywords",
           "excluded_keywords", "max_contract_value", "email", "language", "legal_form", "naf",
           "is_ess")
REQUIRED = ("siret", "name")
ALL_FRANCE = {"all", "france", "toute la france", "tous", "*"}
_TRUE = {"1", "yes", "y", "oui", "o", "true", "vrai", "x"}
_FALSE = {"0", "no", "n", "non", "false", "faux", ""}


class ImportFileError(Exception):
    """The file cannot be imported at all (unreadable, no header, a required column missing)."""

    def __init__(self, message: str, **params: object):
        super().__init__(message.format(**params))
        self.message, self.params = message, params

    def text(self, lang: str) -> str:
        return gettext_for(lang)(self.message).format(**self.params)


@dataclass(frozen=True, slots=True)
class Rejection:
    line: int
    message: str  # English message id, rendered with `text(lang)`
    params: tuple[tuple[str, str], ...] = ()

    def text(self, lang: str) -> str:
        return gettext_for(lang)(self.message).format(**dict(self.params))

    def to_dict(self, lang: str = "en") -> dict:
        return {"line": self.line, "reason": self.text(lang)}


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    members_created: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


class _RowError(Exception):
    def __init__(self, message: str, **params: object):
        super().__init__(message)
        self.message = message
        self.params = tuple((k, str(v)) for k, v in params.items())


# --- cells ---------------------------------------------------------------------------------------


def check_siret(raw: str) -> str:
    if not raw.strip():
        raise _RowError(N_("the SIRET is missing (14 digits)"))
    try:
        return siret_number.validate(raw)
    except InvalidChecksum:
        raise _RowError(N_("SIRET {siret}: the check digit is wrong (a typo?)"), siret=raw) from None
    except InvalidLength:
        raise _RowError(N_("SIRET {siret}: it must have 14 digits"), siret=raw) from None
    except (InvalidFormat, ValidationError):
        raise _RowError(N_("SIRET {siret}: only digits are allowed"), siret=raw) from None


def _split(cell: str, delimiter: str) -> list[str]:
    separators = "".join(sep for sep in ";,|" if sep != delimiter)
    parts = re.split(f"[{re.escape(separators)}]", cell)
    return list(dict.fromkeys(part.strip() for part in parts if part.strip()))


def _family(cell: str) -> str | None:
    value = cell.strip()
    if not value:
        return None
    if value.lower() in families.FAMILY_CODES:
        return value.lower()
    if family := families.family_for_type(value):
        return family
    raise _RowError(N_("unknown family “{family}” (for example: association, siae_aci, ea)"),
                    family=value)


def _departements(cell: str, delimiter: str) -> tuple[bool, list[str]]:
    values = _split(cell, delimiter)
    if any(value.lower() in ALL_FRANCE for value in values):
        return True, []
    codes = []
    for value in values:
        code = normalise_departement(value)
        if code is None:
            raise _RowError(N_("unknown département “{code}” (use codes such as 42 or 2A)"),
                            code=value)
        codes.append(code)
    return False, sort_departements(set(codes))


def _cpv_codes(cell: str, delimiter: str) -> list[str]:
    codes = []
    for value in _split(cell, delimiter):
        code = normalise_cpv(value)
        if code is None or cpv_get(code) is None:
            raise _RowError(N_("unknown CPV code “{code}” (8 digits, such as 77310000)"),
                            code=value)
        codes.append(code)
    return list(dict.fromkeys(codes))


def _amount(cell: str) -> int | None:
    compact = re.sub(r"[\s\u00a0\u202f€]|eur(os?)?", "", cell.strip(), flags=re.IGNORECASE)
    if not compact:
        return None
    compact = compact.replace(",", ".")
    try:
        value = float(compact)
    except ValueError:
        raise _RowError(N_("max_contract_value “{value}” is not an amount in euros (such as "
                           "150000)"), value=cell) from None
    if value < 0:
        raise _RowError(N_("max_contract_value “{value}” is not an amount in euros (such as "
                           "150000)"), value=cell)
    return int(round(value))


def _boolean(cell: str, column: str) -> bool:
    value = cell.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise _RowError(N_("{column} “{value}”: answer yes or no"), column=column, value=cell)


# --- the file ------------------------------------------------------------------------------------


def _reader(text: str) -> tuple[csv.DictReader, str]:
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    return reader, delimiter


def _parse_row(row: dict[str, str], columns: set[str], delimiter: str) -> dict:
    """Structure fields (only for the columns present) plus "email"/"language" for the member."""
    cell = {name: (row.get(name) or "").strip() for name in columns}
    fields: dict = {"siret": check_siret(cell["siret"])}
    if not cell["name"]:
        raise _RowError(N_("the name is empty"))
    fields["name"] = cell["name"][:300]
    if "family" in columns:
        family = _family(cell["family"])
        fields["family"] = family
        fields["is_siae"] = family in families.SIAE_FAMILIES
        fields["siae_type"] = families.siae_type(family)
    if "departements" in columns:
        fields["all_france"], fields["departements"] = _departements(cell["departements"],
                                                                     delimiter)
    if "cpv_codes" in columns:
        fields["cpv_codes"] = _cpv_codes(cell["cpv_codes"], delimiter)
    for name in ("keywords", "excluded_keywords"):
        if name in columns:
            fields[name] = _split(cell[name], delimiter)
    if "max_contract_value" in columns:
        fields["max_contract_value"] = _amount(cell["max_contract_value"])
    if "legal_form" in columns:
        code = cell["legal_form"]
        if code and not re.fullmatch(r"\d{4}", code):
            raise _RowError(N_("legal_form “{code}”: expected the 4-digit INSEE code (such as "
                               "9220)"), code=code)
        fields["legal_form"] = code or None
    if "naf" in columns:
        naf = normalise_naf(cell["naf"]) if cell["naf"] else None
        if cell["naf"] and naf is None:
            raise _RowError(N_("naf “{code}”: expected a code such as 81.30Z"), code=cell["naf"])
        fields["naf"] = naf
    if "is_ess" in columns:
        fields["is_ess"] = _boolean(cell["is_ess"], "is_ess")
    if "email" in columns and cell["email"]:
        if not is_email_address(cell["email"]):
            raise _RowError(N_("email “{email}” is not an email address"), email=cell["email"])
        fields["email"] = cell["email"].lower()
    if "language" in columns and cell["language"]:
        language = cell["language"].lower()[:2]
        if language not in ("fr", "en"):
            raise _RowError(N_("language “{language}”: use fr or en"), language=cell["language"])
        fields["language"] = language
    return fields


def read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportFileError(N_("Cannot read {path}: {error}"), path=path,
                              error=exc.strerror or exc) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Spreadsheets on Windows still save CSV in cp1252.
        return data.decode("cp1252", errors="replace")


def import_structures(session: Session, text: str, *, now: datetime | None = None) -> ImportReport:
    """Create or update structures from CSV text; the caller commits."""
    now = now or datetime.now(UTC)
    reader, delimiter = _reader(text)
    if not reader.fieldnames:
        raise ImportFileError(N_("The file is empty: a header row is needed (siret,name,…)."))
    headers = {name: (name or "").strip().lower().lstrip("\ufeff") for name in reader.fieldnames}
    known = {header for header in headers.values() if header in COLUMNS}
    missing = [name for name in REQUIRED if name not in known]
    if missing:
        raise ImportFileError(N_("Missing column(s): {columns}. The header must name at least "
                                 "siret and name."), columns=", ".join(missing))
    report = ImportReport(ignored_columns=[h for h in headers.values() if h and h not in COLUMNS])

    parsed: list[tuple[int, dict]] = []
    seen: dict[str, int] = {}
    for raw in reader:
        line = reader.line_num
        row = {headers[key]: value for key, value in raw.items() if key in headers
               and isinstance(value, str)}
        if not any((value or "").strip() for value in row.values()):
            continue  # blank line
        try:
            fields = _parse_row(row, known, delimiter)
        except _RowError as error:
            report.rejected.append(Rejection(line, error.message, error.params))
            continue
        if fields["siret"] in seen:
            report.rejected.append(Rejection(
                line, N_("SIRET {siret} is already on line {line}"),
                (("siret", fields["siret"]), ("line", str(seen[fields["siret"]])))))
            continue
        seen[fields["siret"]] = line
        parsed.append((line, fields))

    existing: dict[str, Structure] = {}
    sirets = list(seen)
    for start in range(0, len(sirets), 500):
        query = select(Structure).where(Structure.siret.in_(sirets[start:start + 500]))
        existing.update({s.siret: s for s in session.execute(query).scalars()})

    for _line, fields in parsed:
        email, language = fields.pop("email", None), fields.pop("language", None)
        structure = existing.get(fields["siret"])
        if structure is None:
            structure = Structure(**fields, created_at=now, updated_at=now)
            session.add(structure)
            report.created += 1
        else:
            for name, value in fields.items():
                setattr(structure, name, value)
            structure.updated_at = now
            report.updated += 1
        if email:
            session.flush()  # the structure id, for its member
            report.members_created += _ensure_member(session, structure, email, language)
    session.flush()
    return report


def _ensure_member(session: Session, structure: Structure, email: str,
                   language: str | None) -> int:
    member = session.execute(
        select(Member).where(Member.structure_id == structure.id,
                             func.lower(Member.email) == email)
    ).scalars().first()
    if member is None:
        # No consent is recorded: the advisor imported the address, the member did not give it.
        session.add(Member(structure_id=structure.id, email=email, language=language))
        return 1
    if language:
        member.language = language
    return 0
