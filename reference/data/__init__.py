"""Reference tables (CSV) read by reference.tables; a package so that they ship in the wheel."""
