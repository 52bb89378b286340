"""Reference tables (CSV) read by tenders.reference; a package so that they ship in the wheel."""
