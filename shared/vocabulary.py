"""Herald's words for things that have a fixed set of values, each defined once.

Every service, the OpenAPI enums and the database CHECK constraints take their values from
here; nothing else spells a status out. Pure: no I/O.

- **Message statuses**: a ledger row (``messages``) is pending (``new``, ``sending``) until it
  reaches a final status, which never changes again.
- **Campaign statuses** and the transitions between them (``CAMPAIGN_TRANSITIONS``): who moves
  a campaign where is written in ``CAMPAIGN_MOVES``, so the state machine reads in one place.
- **Channels**: the ways a message travels (``sms``, ``email``, ``portal``); ``SendTo`` is
  what an operator picks, which may mean two channels.
"""

from __future__ import annotations

from typing import Final, Literal, cast, get_args

# -- Messages (one ledger row per recipient address) ----------------------------------------

MessageStatus = Literal["new", "sending", "sent", "error", "expired", "cancelled", "skipped"]
MESSAGE_STATUSES: Final[tuple[MessageStatus, ...]] = get_args(MessageStatus)

PendingStatus = Literal["new", "sending"]
PENDING: Final[tuple[PendingStatus, ...]] = get_args(PendingStatus)

FinalStatus = Literal["sent", "error", "expired", "cancelled", "skipped"]
FINAL: Final[tuple[FinalStatus, ...]] = get_args(FinalStatus)

# What a sender or the API can report for one delivery attempt (``skipped`` is decided by
# the resolver when it writes the row, never reported afterwards).
OutcomeStatus = Literal["sent", "error", "expired", "cancelled"]
OUTCOME_STATUSES: Final[tuple[OutcomeStatus, ...]] = get_args(OutcomeStatus)

# Final statuses that make a finished campaign ``sent_with_error``.
FAILED: Final[tuple[FinalStatus, ...]] = ("error", "expired")

# The resolver writes a row as one of these.
RowStatus = Literal["new", "error", "skipped"]

# -- Campaigns -------------------------------------------------------------------------------

CampaignStatus = Literal[
    "new",
    "scheduled",
    "processing",
    "paused",
    "sent",
    "sent_with_error",
    "failed",
    "cancelled",
    "removed",
]
CAMPAIGN_STATUSES: Final[tuple[CampaignStatus, ...]] = get_args(CampaignStatus)

# Campaigns whose messages may still be resolved or sent.
OPEN: Final[tuple[CampaignStatus, ...]] = ("new", "processing")
# Campaigns nothing more will happen to (but removal).
FINISHED: Final[tuple[CampaignStatus, ...]] = (
    "sent",
    "sent_with_error",
    "failed",
    "cancelled",
    "removed",
)

CampaignMove = Literal["start", "pause", "resume", "finish", "fail", "cancel", "remove"]

# Who moves a campaign, from where, to where. ``finish`` goes to ``sent`` or
# ``sent_with_error`` depending on the ledger; ``remove`` keeps the previous status in
# ``status_before_removal``.
CAMPAIGN_MOVES: Final[
    dict[CampaignMove, tuple[frozenset[CampaignStatus], frozenset[CampaignStatus]]]
] = {
    # the resolver takes a new campaign (or a scheduled one that is due)
    "start": (frozenset({"new", "scheduled"}), frozenset({"processing"})),
    # the operator (or a missed schedule) holds it; senders keep its messages new
    "pause": (frozenset({"new", "scheduled", "processing"}), frozenset({"paused"})),
    # the operator lets it go on
    "resume": (frozenset({"paused"}), frozenset({"processing"})),
    # the logger (or the API) sees every message final
    "finish": (frozenset({"processing"}), frozenset({"sent", "sent_with_error"})),
    # the resolver meets a fault that retrying cannot mend (a refused filter, a template
    # that fails for everyone)
    "fail": (frozenset({"new", "processing"}), frozenset({"failed"})),
    # the operator stops what has not been sent
    "cancel": (
        frozenset({"new", "scheduled", "processing", "paused"}),
        frozenset({"cancelled"}),
    ),
    # the operator hides it from history
    "remove": (frozenset(CAMPAIGN_STATUSES) - {"removed"}, frozenset({"removed"})),
}

CAMPAIGN_TRANSITIONS: Final[dict[CampaignStatus, frozenset[CampaignStatus]]] = {
    status: frozenset(
        target
        for sources, targets in CAMPAIGN_MOVES.values()
        if status in sources
        for target in targets
    )
    for status in CAMPAIGN_STATUSES
}


def sources_of(move: CampaignMove) -> tuple[CampaignStatus, ...]:
    """The statuses ``move`` may start from, in vocabulary order (for SQL ``= ANY``)."""
    sources = CAMPAIGN_MOVES[move][0]
    return tuple(status for status in CAMPAIGN_STATUSES if status in sources)


def target_of(move: CampaignMove) -> CampaignStatus:
    """The one status ``move`` leads to (``finish`` has two: see ``finish_target``)."""
    targets = CAMPAIGN_MOVES[move][1]
    if len(targets) != 1:
        raise ValueError(f"{move!r} leads to {len(targets)} statuses")
    (target,) = targets
    return target


def finish_target(*, with_errors: bool) -> CampaignStatus:
    """Where ``finish`` takes a campaign: whether any of its messages failed decides."""
    return "sent_with_error" if with_errors else "sent"


def may(move: CampaignMove, status: str) -> bool:
    """Whether a campaign in ``status`` may make ``move``."""
    return status in CAMPAIGN_MOVES[move][0]


def can_transition(source: str, target: str) -> bool:
    """Whether any move takes a campaign from ``source`` to ``target``."""
    return target in CAMPAIGN_TRANSITIONS.get(cast(CampaignStatus, source), frozenset())


def label(status: str) -> str:
    """A status as the console shows it: ``sent_with_error`` → ``Sent with error``."""
    return status.replace("_", " ").capitalize()


# -- Channels and people -----------------------------------------------------------------------

Channel = Literal["sms", "email", "portal"]
CHANNELS: Final[tuple[Channel, ...]] = get_args(Channel)

SendTo = Literal["sms", "email", "portal", "portal_email"]
SEND_TO: Final[tuple[SendTo, ...]] = get_args(SendTo)

# The ledger rows one campaign writes for each person, per ``send_to``, in the order the
# resolver writes them.
CHANNELS_OF: Final[dict[SendTo, tuple[Channel, ...]]] = {
    "sms": ("sms",),
    "email": ("email",),
    "portal": ("portal",),
    "portal_email": ("email", "portal"),
}

MessageType = Literal["message", "test"]
MESSAGE_TYPES: Final[tuple[MessageType, ...]] = get_args(MessageType)

RecipientType = Literal["customer", "lead"]
RECIPIENT_TYPES: Final[tuple[RecipientType, ...]] = get_args(RecipientType)

PersonStatus = Literal["new", "active", "inactive", "blocked"]
PERSON_STATUSES: Final[tuple[PersonStatus, ...]] = get_args(PersonStatus)

Category = Literal["private", "company"]
CATEGORIES: Final[tuple[Category, ...]] = get_args(Category)

BillingType = Literal["recurring", "prepaid"]
BILLING_TYPES: Final[tuple[BillingType, ...]] = get_args(BillingType)

ServiceType = Literal["internet", "voice", "recurring", "bundle"]
SERVICE_TYPES: Final[tuple[ServiceType, ...]] = get_args(ServiceType)

DocumentType = Literal["invoice", "proforma_invoice", "payment"]
DOCUMENT_TYPES: Final[tuple[DocumentType, ...]] = get_args(DocumentType)

# -- Delivery reports ------------------------------------------------------------------------

DeliveryStatus = Literal["pending", "delivered", "failed", "expired", "unknown"]
DELIVERY_STATUSES: Final[tuple[DeliveryStatus, ...]] = get_args(DeliveryStatus)


def check_constraint(column: str, values: tuple[str, ...]) -> str:
    """The SQL ``CHECK`` a migration puts on ``column`` (tested against the migrations)."""
    quoted = ", ".join("'" + value.replace("'", "''") + "'" for value in values)
    return f"CHECK ({column} IN ({quoted}))"
