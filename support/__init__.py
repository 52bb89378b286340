"""Support requests from members to advisors (requests.py)."""
