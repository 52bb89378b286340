"""Every flow that plugs into the core when imported: what its deliveries say
(alerts.compose.register_builder), its threads (alerts.relay.register_thread), its email replies
(channels.email.threads) and email onboarding. Each process that sends or receives — the bot, a
delivery worker, the LMTP server — imports this module once, so a delivery of any kind can be
rendered wherever it is claimed.
"""

import alerts.relay  # noqa: F401 - thread posts
import announcements.actions  # noqa: F401 - events and advisors' buttons from any channel
import channels.email.choices  # noqa: F401 - numbered choices by email
import channels.email.thread_replies  # noqa: F401 - thread posts by email
import consortia.email_replies  # noqa: F401 - ACCEPTER / REFUSER by email, groupement threads
import consortia.followup  # noqa: F401 - did you answer, did you win
import consortia.lifecycle  # noqa: F401 - cancelled and expired tenders end their groupements
import consortia.listing  # noqa: F401 - /groupements
import consortia.search  # noqa: F401 - partner searches, proposals, groupements
import conversations.email_onboarding  # noqa: F401 - INSCRIPTION by email
import support.requests  # noqa: F401 - support requests and their threads
