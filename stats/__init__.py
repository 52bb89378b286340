"""The bilan: the advisors' impact figures by month, computed from the tables (figures.py), as a
CSV and a chart readable on a phone (output.py), for /stats and `centrale stats`."""
