"""Ingestion: fetch (or read saved answers), parse, store; a summary at the end.

Two ways in, one way through (`upsert_tenders`):
- `ingest_files(engine, source, path)`: a saved API answer (JSON: BOAMP `{total_count, results}`
  or a list of records; TED `{notices: [...]}` or a list), a notice (XML: BOAMP `<ANNONCE>`,
  TED eForms or TED-export), or a directory of those. The whole pipeline runs offline this way.
- `ingest_fetch(engine, api_url, source, since)`: the source's API from `since` (default: the
  stored cursor, else the last two days), stored page by page (one transaction per chunk, so a
  long run interrupted keeps what it stored; re-running is harmless, storing is idempotent). The
  cursor (`ingest_cursors`) moves to the latest publication date stored; files never move it.

A record that cannot be parsed is skipped with its id and the reason; it never stops the batch.

A territory (the départements the service covers, CENTRALE_TERRITORY, given by bot/) keeps only
the tenders placed in it, and those placed nowhere in particular (no département given: they may
concern it); the others are counted in `outside` and not stored.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine

from store.db import session_scope
from tenders.model import Tender
from tenders.store import Summary, get_cursor, set_cursor, upsert_tenders

log = logging.getLogger(__name__)

SOURCES = ("boamp", "ted")
DEFAULT_DAYS = 2
FETCH_CHUNK = 500
FILE_SUFFIXES = (".json", ".xml")

Progress = Callable[[int], None]  # called with the number of records just handled


class IngestError(Exception):
    """The run cannot go on (API down after retries, unreadable file); the message says why."""


@dataclass
class IngestReport:
    source: str
    summary: Summary = field(default_factory=Summary)
    records: int = 0  # raw records or notices read
    files: int = 0
    since: date | None = None  # the fetch window start (None for files)
    last_published: date | None = None
    cursor: date | None = None  # the cursor after the run (fetch only)
    outside: int = 0  # tenders left out: placed outside the territory

    def to_dict(self) -> dict:
        return {
            "source": self.source,
            "records": self.records,
            "files": self.files,
            "since": self.since.isoformat() if self.since else None,
            "last_published": self.last_published.isoformat() if self.last_published else None,
            "cursor": self.cursor.isoformat() if self.cursor else None,
            "outside_territory": self.outside,
            **self.summary.to_dict(),
        }


# --- parsing -------------------------------------------------------------------------------------


def _check_source(source: str) -> None:
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")


def parse_records(source: str, records: list) -> tuple[list[Tender], list[tuple[str, str]]]:
    """Raw API records (BOAMP records, TED search results) -> tenders, skipped."""
    _check_source(source)
    if source == "boamp":
        from tenders.boamp.record import parse_records as parse_boamp

        return parse_boamp(records)
    from tenders.ted.search import parse_search_results

    return parse_search_results(records)


def _records_of(source: str, payload: object) -> list:
    """The records of a saved answer: the envelope of the source's API, or a bare list."""
    key = "results" if source == "boamp" else "notices"
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict):
        if isinstance(records := payload.get(key), list):
            return records
        single = "idweb" if source == "boamp" else "publication-number"
        if single in payload:  # one record saved alone
            return [payload]
    raise IngestError(f"not a saved {source.upper()} API answer (no '{key}' list)")


def parse_file(source: str, path: Path) -> tuple[list[Tender], list[tuple[str, str]], int]:
    """One saved file -> (tenders, skipped, number of records read)."""
    _check_source(source)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(f"cannot read {path}: {exc.strerror or exc}") from None
    head = data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head == b"<":
        return (*_parse_xml(source, path, data), 1)
    try:
        payload = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise IngestError(f"{path.name}: neither JSON nor XML ({exc})") from None
    records = _records_of(source, payload)
    tenders, skipped = parse_records(source, records)
    return tenders, skipped, len(records)


def _parse_xml(source: str, path: Path, data: bytes) -> tuple[list[Tender], list[tuple[str, str]]]:
    try:
        if source == "boamp":
            from tenders.boamp.xml_notice import parse_xml

            tender = parse_xml(data)
        else:
            from tenders.ted.notice import parse_notice

            tender = parse_notice(data)
    except Exception as exc:  # one bad notice must never stop the batch
        log.warning("%s skipped: %s", path.name, exc)
        return [], [(path.name, str(exc) or type(exc).__name__)]
    return [tender], []


def files_under(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in
                      FILE_SUFFIXES)
    if not path.exists():
        raise IngestError(f"{path} does not exist")
    return [path]


# --- running -------------------------------------------------------------------------------------


def in_territory(tender: Tender, territory: frozenset[str] | None) -> bool:
    return not territory or not tender.departements or bool(territory & set(tender.departements))


def _store(engine: Engine, tenders: list[Tender], report: IngestReport,
           *, cursor: bool = False, territory: frozenset[str] | None = None) -> None:
    kept = [tender for tender in tenders if in_territory(tender, territory)]
    report.outside += len(tenders) - len(kept)
    with session_scope(engine) as session:
        report.summary.add(upsert_tenders(session, kept))
        # The cursor moves past what was left out too: it was seen.
        published = [t.published for t in tenders if t.published]
        if published:
            latest = max(published)
            report.last_published = max(filter(None, (report.last_published, latest)))
        if cursor and report.last_published:
            set_cursor(session, report.source, report.last_published)


def ingest_files(engine: Engine, source: str, path: Path | str,
                 progress: Progress | None = None,
                 territory: frozenset[str] | None = None) -> IngestReport:
    """Read saved answers or notices (a file or a directory of them) and store them."""
    _check_source(source)
    report = IngestReport(source=source)
    tenders: list[Tender] = []
    for file in files_under(Path(path)):
        parsed, skipped, count = parse_file(source, file)
        tenders.extend(parsed)
        report.summary.skipped.extend(skipped)
        report.records += count
        report.files += 1
        if progress:
            progress(count)
    _store(engine, tenders, report, territory=territory)
    return report


def default_since(engine: Engine, source: str, today: date | None = None) -> date:
    """The stored cursor (its day is fetched again: notices published later that day), else
    the last two days."""
    with session_scope(engine) as session:
        cursor = get_cursor(session, source)
    return cursor or (today or datetime.now(UTC).date()) - timedelta(days=DEFAULT_DAYS)


def _raw_records(source: str, client, api_url: str, since: date) -> AsyncIterator[dict]:
    if source == "boamp":
        from tenders.boamp.client import fetch_since

        return fetch_since(client, api_url, since)
    from tenders.ted.client import search_since

    return search_since(client, api_url, since)


def _api_errors() -> tuple[type[Exception], ...]:
    from tenders.boamp import BoampError
    from tenders.ted import TedAPIError

    return BoampError, TedAPIError


async def _chunks(records: AsyncIterator[dict], size: int) -> AsyncIterator[list[dict]]:
    chunk: list[dict] = []
    async for record in records:
        chunk.append(record)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def ingest_fetch(
    engine: Engine,
    api_url: str,
    source: str,
    since: date | None = None,
    *,
    client=None,
    progress: Progress | None = None,
    chunk_size: int = FETCH_CHUNK,
    territory: frozenset[str] | None = None,
) -> IngestReport:
    """Fetch the source's API at `api_url` (BOAMP_API_URL or TED_API_URL, from the caller's
    settings) from `since` (default: cursor, else two days ago) and store."""
    import httpx

    _check_source(source)
    report = IngestReport(source=source, since=since or default_since(engine, source))
    own_client = client is None
    client = client or httpx.AsyncClient(
        headers={"User-Agent": "centrale (ESS tenders watch)"}, timeout=60.0,
        follow_redirects=True,
    )
    try:
        async for chunk in _chunks(_raw_records(source, client, api_url, report.since),
                                   chunk_size):
            tenders, skipped = parse_records(source, chunk)
            report.summary.skipped.extend(skipped)
            report.records += len(chunk)
            _store(engine, tenders, report, cursor=True, territory=territory)
            if progress:
                progress(len(chunk))
    except httpx.HTTPError as exc:
        raise IngestError(f"{source.upper()} API: {type(exc).__name__}: {exc}") from None
    except _api_errors() as exc:  # the clients gave up (after their retries)
        raise IngestError(str(exc)) from None
    finally:
        if own_client:
            await client.aclose()
    with session_scope(engine) as session:
        report.cursor = get_cursor(session, source)
    return report


def summary_lines(report: IngestReport, _: Callable[[str], str], limit: int = 20) -> list[str]:
    """The end-of-run summary, translated with `_` (gettext of the operator's language)."""
    s = report.summary
    lines = [
        _("{source}: {records} records read, {new} new, {updated} updated, {merged} merged "
          "with an existing tender, {unchanged} unchanged, {skipped} skipped").format(
            source=report.source.upper(), records=report.records, new=s.new, updated=s.updated,
            merged=s.merged, unchanged=s.unchanged, skipped=len(s.skipped)),
    ]
    if report.outside:
        lines.append(_("{count} tenders left out: outside the territory (CENTRALE_TERRITORY)")
                     .format(count=report.outside))
    for ident, reason in s.skipped[:limit]:
        # Parsers give their reasons as message ids (English) when they can.
        lines.append(_("  skipped {id}: {reason}").format(id=ident, reason=_(reason)))
    if len(s.skipped) > limit:
        lines.append(_("  … and {count} more skipped").format(count=len(s.skipped) - limit))
    if report.cursor:
        lines.append(_("Next fetch starts from {date}.").format(date=report.cursor.isoformat()))
    return lines
