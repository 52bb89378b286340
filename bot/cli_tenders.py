"""Sub-commands of the tender side: ingest, match, deliver, tenders list, import structures."""

from __future__ import annotations


def register(commands) -> None:
    """Add the tender-side sub-commands to the `centrale` parser."""
