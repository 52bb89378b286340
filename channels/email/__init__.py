"""The email channel: the same service by email, acted on by reply.

Outbound (channels.email.channel): the delivery runner renders each Message as text + HTML
(render, templates/), with signed reply addresses (keys), threading and unsubscribe headers
(mime), and sends it with aiosmtplib. Inbound (lmtp, inbound): an LMTP server stores each
message raw, then processes it once: bounces (bounces), machines ignored (parse), quotes
stripped (quotes), the first line read as a command (commands) and carried out by the thread's
handler (threads; the alerts' in replies), or the diagnostic by email (onboarding).
"""
