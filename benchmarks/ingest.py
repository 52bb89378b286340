"""Ingestion benchmark: parse and store N BOAMP records made from the real samples.

    python benchmarks/ingest.py [--records 10000] [--database-url URL] [--data DIR]

The five real records of `boamp/ods_records_2015.json` (../shared/data) are repeated with a new
idweb each time and a few fields varied (title, publication date, deadline, département), so
that every record is a distinct tender with the real shape and size (`donnees` JSON strings,
Colmar's 33 lots). The timed part is what `centrale ingest boamp --file` does: parse the records
and upsert them into an empty database (SQLite file in a temporary directory by default). Then
the same records are ingested again and `reingest_changes` counts what that changed (it must
be 0). Prints one JSON object:
`records, seconds, records_per_s, parse_s, store_s, cpu_s, new, skipped, reingest_s,
reingest_parse_s, reingest_store_s, reingest_changes, database`.
Target: `seconds` ≤ 10 for 10,000 records on SQLite.

A re-ingest parses every record again (a notice is known to be unchanged only from the hash of
its parsed content), so `reingest_s` is mostly `reingest_parse_s`; storing unchanged notices
costs one hash and one look-up each. On a shared machine compare `cpu_s` (this process's CPU
time) rather than `seconds`, over a few runs.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DEPARTEMENTS = ["01", "06", "13", "2A", "33", "35", "42", "59", "69", "75", "93", "971"]


def default_data() -> Path:
    for candidate in (ROOT.parent / "shared" / "data", ROOT / ".." / "shared" / "data"):
        if candidate.exists():
            return candidate.resolve()
    raise SystemExit("shared data not found: pass --data /path/to/shared/data")


def make_records(samples: list[dict], count: int) -> list[dict]:
    """`count` distinct records: copies of the samples with a new idweb and varied fields."""
    decoded = [(record, json.loads(record["donnees"])) for record in samples]
    records = []
    for n in range(count):
        base, donnees = decoded[n % len(decoded)]
        record = dict(base)
        idweb = f"26-{100000 + n}"
        shift = timedelta(days=n % 60)
        published = date(2026, 1, 5) + shift
        deadline = published + timedelta(days=30 + n % 15)
        title_suffix = f" — consultation {n}"
        record.update(
            idweb=idweb,
            id=idweb.replace("-", "_"),
            objet=f"{base['objet']}{title_suffix}",
            dateparution=published.isoformat(),
            datelimitereponse=f"{deadline.isoformat()}T12:00:00+01:00",
            code_departement=[DEPARTEMENTS[n % len(DEPARTEMENTS)]],
            code_departement_prestation=DEPARTEMENTS[n % len(DEPARTEMENTS)],
            url_avis=f"https://www.boamp.fr/pages/avis/?q=idweb:{idweb}",
        )
        varied = copy.deepcopy(donnees)
        objet = varied.get("OBJET")
        if isinstance(objet, dict) and isinstance(objet.get("TITRE_MARCHE"), str):
            objet["TITRE_MARCHE"] += title_suffix
        record["donnees"] = json.dumps(varied, ensure_ascii=False)
        gestion = json.loads(base["gestion"])
        gestion.get("REFERENCE", {})["IDWEB"] = idweb
        indexation = gestion.get("INDEXATION", {})
        indexation.update(DATE_PUBLICATION=published.isoformat(),
                          DATE_LIMITE_REPONSE=f"{deadline.isoformat()}T12:00:00+01:00")
        record["gestion"] = json.dumps(gestion, ensure_ascii=False)
        records.append(record)
    return records


def ingest(engine, records: list[dict]) -> tuple[float, float, float, object]:
    from store.db import session_scope
    from tenders.boamp.record import parse_records
    from tenders.store import upsert_tenders

    start, cpu = time.perf_counter(), time.process_time()
    tenders, skipped = parse_records(records)
    parsed = time.perf_counter()
    with session_scope(engine) as session:
        summary = upsert_tenders(session, tenders)
    summary.skipped.extend(skipped)
    return parsed - start, time.perf_counter() - parsed, time.process_time() - cpu, summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--database-url", help="default: a new SQLite file in a temporary dir")
    parser.add_argument("--data", type=Path, help="the shared data folder (../shared/data)")
    args = parser.parse_args(argv)

    from store.db import all_metadata, make_engine

    data = args.data or default_data()
    samples = json.loads((data / "boamp" / "ods_records_2015.json").read_text())["results"]
    records = make_records(samples, args.records)

    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{tmp}/bench.db"
        engine = make_engine(url)
        metadata = all_metadata()
        metadata.drop_all(engine)
        metadata.create_all(engine)
        parse_s, store_s, cpu_s, first = ingest(engine, records)
        re_parse_s, re_store_s, _, again = ingest(engine, records)
        metadata.drop_all(engine) if args.database_url else None
        engine.dispose()

    seconds = parse_s + store_s
    result = {
        "records": len(records),
        "seconds": round(seconds, 3),
        "records_per_s": round(len(records) / seconds),
        "parse_s": round(parse_s, 3),
        "store_s": round(store_s, 3),
        "cpu_s": round(cpu_s, 3),  # this process's CPU time: compare with seconds on a busy host
        "new": first.new,
        "skipped": len(first.skipped),
        "reingest_s": round(re_parse_s + re_store_s, 3),
        "reingest_parse_s": round(re_parse_s, 3),
        "reingest_store_s": round(re_store_s, 3),
        "reingest_changes": again.changes,
        "database": url.split(":", 1)[0],
    }
    print(json.dumps(result))
    return 0 if first.new == len(records) and again.changes == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
