"""Helpers for the delivery tests: data factories and a worker subprocess entry point."""
