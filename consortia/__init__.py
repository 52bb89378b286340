"""Groupements: partner searches, proposals with mutual consent, groupements and their threads, the follow-up after a tender's deadline."""
