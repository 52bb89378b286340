"""The advisors' tools as plain functions over store/: the audience of an announcement, sending
or scheduling it through the outbox, events (registrations, waiting list, reminders), the
listing of /annonces, and opportunities posted by advisors (tenders of source `advisor`).

Every member or advisor action takes a member id and an alerts.message.Request, checks that the
member may do it (alerts.advisors.is_advisor for the advisors' ones) and returns an
alerts.actions.Reply; deliveries are queued in the same transaction.
"""
