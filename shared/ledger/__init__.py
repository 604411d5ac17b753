"""The per-message ledger (table ``messages``): every INSERT and UPDATE of it lives here.

Final statuses never change again; every write is guarded so that a redelivered job or
event is a no-op, which is what makes at-least-once delivery effectively-once. Modules by
role: ``rows`` (new rows: campaign, test sends, cancelling), ``claims`` (a sender's hold on
a row), ``outcomes`` (final statuses, closing campaigns), ``reports`` (delivery reports).
"""

from shared.ledger.claims import (
    Claim,
    ClaimResult,
    Release,
    claim,
    claim_many,
    release,
    release_many,
    renew,
)
from shared.ledger.outcomes import (
    FAILED,
    FINAL,
    PENDING,
    apply_outcomes,
    close_finished_campaigns,
    merge,
)
from shared.ledger.reports import apply_reports
from shared.ledger.rows import (
    NewRow,
    cancel_campaign_messages,
    insert_campaign_rows,
    insert_test_message,
)

__all__ = [
    "FAILED",
    "FINAL",
    "PENDING",
    "Claim",
    "ClaimResult",
    "NewRow",
    "Release",
    "apply_outcomes",
    "apply_reports",
    "cancel_campaign_messages",
    "claim",
    "claim_many",
    "close_finished_campaigns",
    "insert_campaign_rows",
    "insert_test_message",
    "merge",
    "release",
    "release_many",
    "renew",
]
