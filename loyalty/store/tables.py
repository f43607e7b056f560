"""The database schema, as SQLAlchemy Core tables. Alembic migrations are generated from this."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from loyalty.store.types import Money, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Id = BigInteger().with_variant(Integer, "sqlite")

members = Table(
    "members",
    metadata,
    Column("member_id", String(64), primary_key=True),
    Column("name", String(200)),
    Column("email", String(320), unique=True),
    Column("phone", String(40), unique=True),
    Column("birth_date", Date),
    Column("gender", String(20)),
    Column("region", String(100)),
    Column("enrolled_at", UTCDateTime(), nullable=False),
    Column("channel", String(40)),
    Column("attributes", JSON, nullable=False),
    Column("tags", JSON, nullable=False),
    Column("tier", String(40), nullable=False),
    Column("tier_since", UTCDateTime()),
    Column("tier_review_at", UTCDateTime()),
    Column("tier_notice_for", UTCDateTime()),
    Column("vip", Boolean, nullable=False, default=False),
    Column("vip_since", UTCDateTime()),
    Column("lifecycle_stage", String(20), nullable=False),
    Column("lifecycle_since", UTCDateTime()),
    Column("bucket", Integer, nullable=False, default=0),
    Column("points_available", BigInteger, nullable=False, default=0),
    Column("points_pending", BigInteger, nullable=False, default=0),
    Column("points_debt", BigInteger, nullable=False, default=0),
    Column("points_lifetime", BigInteger, nullable=False, default=0),
    Column("lifetime_spend", Money(), nullable=False, default=0),
    Column("lifetime_visits", Integer, nullable=False, default=0),
    Column("last_purchase_at", UTCDateTime()),
    Column("categories", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("consents", JSON),  # consent per channel, a channel missing = none (migration 0007)
    Column("erased_at", UTCDateTime()),  # personal data erased on request (migration 0007)
    Column("referred_by", String(64)),  # the member who brought them (migration 0011)
    # the member this one was merged into, and when; set, the row only points there (0008)
    Column("merged_into", String(64)),
    Column("merged_at", UTCDateTime()),
    # the member's value as of the last sweep (`value_at`), null until valued (migration 0013)
    Column("current_value", Money()),
    Column("potential_value", Money()),
    Column("clv", Money()),
    Column("value_segment", String(20)),
    Column("value_at", UTCDateTime()),
    Index("ix_members_bucket", "bucket", "member_id"),
    Index("ix_members_tier_review", "tier_review_at"),
    Index("ix_members_merged_into", "merged_into"),  # migration 0008
)

transactions = Table(
    "transactions",
    metadata,
    Column("transaction_id", String(128), primary_key=True),
    Column("member_id", String(64), ForeignKey("members.member_id"), nullable=False),
    Column("type", String(20), nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("store_id", String(64)),
    Column("channel", String(40)),
    Column("currency", String(8)),
    Column("total", Money(), nullable=False),
    Column("original_transaction_id", String(128), ForeignKey("transactions.transaction_id")),
    Column("ruleset_version", String(20)),
    Column("points_earned", BigInteger, nullable=False, default=0),
    Column("points_clawed_back", BigInteger, nullable=False, default=0),
    Column("returned_total", Money(), nullable=False, default=0),
    Column("payment_methods", JSON),  # as presented, so a backtest replays the purchase as it was
    Column("offer_codes", JSON),
    Column("vouchers", JSON),  # the voucher codes a purchase presented (and used)
    Index("ix_transactions_member_time", "member_id", "occurred_at"),
)

transaction_lines = Table(
    "transaction_lines",
    metadata,
    Column(
        "transaction_id",
        String(128),
        ForeignKey("transactions.transaction_id"),
        primary_key=True,
    ),
    Column("line_no", Integer, primary_key=True),
    Column("sku", String(64), nullable=False),
    Column("category", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("unit_price", Money(), nullable=False),
    Column("returned_quantity", Integer, nullable=False, default=0),
    # the points the line earned for its units (awards per unit): a return takes them back
    # per unit returned, and the rest of the purchase's points by value
    Column("unit_points", BigInteger, nullable=False, default=0, server_default="0"),
)

events = Table(
    "events",
    metadata,
    Column("event_id", String(128), primary_key=True),
    Column("member_id", String(64), ForeignKey("members.member_id"), nullable=False),
    Column("type", String(40), nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("attributes", JSON, nullable=False),
    Column("ruleset_version", String(20)),
    # who raised it: None (a till), "enrolment" or "sweep"
    Column("origin", String(20)),
    Index("ix_events_member_time", "member_id", "occurred_at"),
)

point_lots = Table(
    "point_lots",
    metadata,
    Column("lot_id", Id, primary_key=True, autoincrement=True),
    Column("member_id", String(64), ForeignKey("members.member_id"), nullable=False),
    Column("source_type", String(20), nullable=False),
    Column("source_id", String(128), nullable=False),
    Column("rule_id", String(100)),
    Column("earned", BigInteger, nullable=False),
    Column("remaining", BigInteger, nullable=False),
    Column("state", String(10), nullable=False),
    Column("earned_at", UTCDateTime(), nullable=False),
    Column("pending_until", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime()),
    Index("ix_point_lots_member_open", "member_id", "state", "expires_at"),
    Index("ix_point_lots_source", "source_id"),
)

ledger_entries = Table(
    "ledger_entries",
    metadata,
    Column("entry_id", Id, primary_key=True, autoincrement=True),
    Column("member_id", String(64), ForeignKey("members.member_id"), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("bucket", String(10), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("lot_id", Id, ForeignKey("point_lots.lot_id")),
    Column("source_type", String(20), nullable=False),
    Column("source_id", String(128), nullable=False),
    Column("rule_id", String(100)),
    Column("ruleset_version", String(20)),
    Column("campaign", String(100)),
    Column("reason", Text, nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Column("actor", String(200)),  # who made a manual adjustment; None for what rules decided
    Index("ix_ledger_entries_member", "member_id", "entry_id"),
    Index("ix_ledger_entries_source", "source_id"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("scope", String(20), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("member_id", String(64)),
    Column("fingerprint", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("response", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

rule_usage = Table(
    "rule_usage",
    metadata,
    Column("member_id", String(64), primary_key=True),
    Column("rule_id", String(100), primary_key=True),
    Column("period_key", String(10), primary_key=True),
    Column("times", Integer, nullable=False),
    Column("points", BigInteger, nullable=False),
)

rule_budgets = Table(
    "rule_budgets",
    metadata,
    Column("rule_id", String(100), primary_key=True),
    Column("points_used", BigInteger, nullable=False),
)

member_rewards = Table(
    "member_rewards",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("member_id", String(64), ForeignKey("members.member_id"), nullable=False),
    Column("reward_id", String(64), nullable=False),
    Column("quantity", Integer, nullable=False),
    Column("voucher_code", String(40), nullable=False, unique=True),
    Column("source_type", String(20), nullable=False),
    Column("source_id", String(128), nullable=False),
    Column("rule_id", String(100)),
    Column("ruleset_version", String(20)),
    Column("campaign", String(100)),
    Column("points_spent", BigInteger, nullable=False, default=0),
    Column("granted_at", UTCDateTime(), nullable=False),
    Column("valid_until", UTCDateTime()),
    # held, used (by a purchase presenting its voucher) or revoked (by a return)
    Column("status", String(10), nullable=False, default="held", server_default="held"),
    Column("used_at", UTCDateTime()),
    Column("used_transaction_id", String(128)),
    Column("revoked_at", UTCDateTime()),
    Column("revoked_by", String(128)),  # the return that took it back
    # a used reward whose purchase was returned: the return, which could not take it back
    Column("kept_at", UTCDateTime()),
    Column("kept_by", String(128)),
    # the purchase lines (line_no) it was granted for; null: the purchase as a whole
    Column("source_lines", JSON),
    Index("ix_member_rewards_member", "member_id"),
    Index("ix_member_rewards_source", "source_id"),
)

reward_counters = Table(
    "reward_counters",
    metadata,
    Column("reward_id", String(64), primary_key=True),
    Column("redeemed", BigInteger, nullable=False),
)

offers = Table(
    "offers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("member_id", String(64), ForeignKey("members.member_id"), nullable=False),
    Column("offer_code", String(64), nullable=False),
    Column("benefit", String(30), nullable=False),
    Column("value", Money(), nullable=False),
    Column("description", Text, nullable=False),
    Column("status", String(10), nullable=False),
    Column("issued_at", UTCDateTime(), nullable=False),
    Column("valid_until", UTCDateTime(), nullable=False),
    Column("used_at", UTCDateTime()),
    Column("used_transaction_id", String(128)),
    Column("source_id", String(128), nullable=False),
    Column("rule_id", String(100)),
    Column("ruleset_version", String(20)),
    Column("campaign", String(100)),
    Index("ix_offers_member", "member_id", "status"),
)

privileges = Table(
    "privileges",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("member_id", String(64), ForeignKey("members.member_id"), nullable=False),
    Column("privilege", String(64), nullable=False),
    Column("granted_at", UTCDateTime(), nullable=False),
    Column("valid_until", UTCDateTime()),
    Column("revoked_at", UTCDateTime()),
    Column("source_id", String(128), nullable=False),
    Column("rule_id", String(100)),
    Column("ruleset_version", String(20)),
    Index("ix_privileges_member", "member_id"),
)

tier_history = Table(
    "tier_history",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("member_id", String(64), ForeignKey("members.member_id"), nullable=False),
    Column("from_tier", String(40)),
    Column("to_tier", String(40), nullable=False),
    Column("changed_at", UTCDateTime(), nullable=False),
    Column("reason", Text, nullable=False),
    Column("source_id", String(128)),
    Column("rule_id", String(100)),
    Column("ruleset_version", String(20)),
    Index("ix_tier_history_member", "member_id"),
)

notifications = Table(
    "notifications",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("member_id", String(64), ForeignKey("members.member_id"), nullable=False),
    Column("notification", String(64), nullable=False),
    Column("message", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("source_id", String(128), nullable=False),
    Column("rule_id", String(100)),
    Column("ruleset_version", String(20)),
    # the outbox (migration 0009): the id receivers see, the channel, what was rendered, and
    # where delivery is (pending, delivered, dead, suppressed, cancelled)
    Column("notification_id", String(36), nullable=False),  # migration 0009
    Column("channel", String(20), nullable=False),  # migration 0009
    Column("template", String(64)),  # migration 0009
    Column("subject", Text, info={"personal": True}),  # migration 0009
    Column("payload", JSON, info={"personal": True}),  # migration 0009
    Column("status", String(12), nullable=False),  # migration 0009
    Column("attempts", Integer, nullable=False),  # migration 0009
    Column("queued_at", UTCDateTime()),  # migration 0009: when (re)queued, retries count from
    Column("next_attempt_at", UTCDateTime()),  # migration 0009; while claimed: the lease's end
    Column("lease_token", String(32)),  # migration 0009: the delivery process holding it
    Column("last_error", Text),  # migration 0009
    Column("delivered_at", UTCDateTime()),  # migration 0009
    UniqueConstraint("notification_id", name="uq_notifications_notification_id"),  # 0009
    Index("ix_notifications_due", "status", "next_attempt_at"),  # migration 0009
    Index("ix_notifications_member", "member_id", "id"),  # migration 0009
)

rule_versions = Table(
    "rule_versions",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("content_hash", String(64), nullable=False),
    Column("files", JSON, nullable=False),
    Column("activated_at", UTCDateTime(), nullable=False),  # when it was activated or scheduled
    Column("activated_by", String(200), nullable=False),
    # the instant it takes over at every till (activated_at unless scheduled)
    Column("effective_at", UTCDateTime(), nullable=False),
    Column("reason", Text),
    Column("draft_id", String(32)),
    Column("restores", Integer),  # a rollback: the version whose content it restores
    Column("cancelled_at", UTCDateTime()),  # a scheduled version called off before its instant
    Column("cancelled_by", String(200)),
    UniqueConstraint("version"),
    Index("ix_rule_versions_effective", "effective_at"),
)

# Proposed rule sets: uploaded, checked, submitted, approved (by someone else), then activated
# or scheduled as a version; or withdrawn, or refused with a reason.
rule_drafts = Table(
    "rule_drafts",
    metadata,
    Column("draft_id", String(32), primary_key=True),
    Column("status", String(20), nullable=False),
    Column("author", String(200), nullable=False),
    Column("note", Text, nullable=False),
    Column("files", JSON, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("problems", JSON, nullable=False),
    Column("based_on", Integer),  # the version in force when it was uploaded
    Column("contributors", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("submitted_by", String(200)),
    Column("submitted_at", UTCDateTime()),
    Column("decided_by", String(200)),  # who approved or refused it
    Column("decided_at", UTCDateTime()),
    Column("decision_reason", Text),
    Column("version", Integer),  # the version it became
    Index("ix_rule_drafts_status", "status", "updated_at"),
)

# Append-only (database triggers refuse UPDATE and DELETE): who did what, when, and why.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("actor_kind", String(10), nullable=False),  # key, cli or system
    Column("action", String(40), nullable=False),
    Column("subject", String(200)),
    Column("reason", Text),
    Column("details", JSON, nullable=False),
    Index("ix_audit_log_action", "action", "id"),
    Index("ix_audit_log_at", "at"),
)

# Points a service desk added or removed by hand, with who and why.
adjustments = Table(
    "adjustments",
    metadata,
    Column("adjustment_id", String(128), primary_key=True),
    Column("member_id", String(64), ForeignKey("members.member_id"), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("reason", Text, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Index("ix_adjustments_member", "member_id"),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", String(32), primary_key=True),
    Column("name", String(100), nullable=False),
    Column("role", String(20), nullable=False),
    Column("key_hash", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("revoked_at", UTCDateTime()),
)

sweep_runs = Table(
    "sweep_runs",
    metadata,
    Column("as_of", String(32), primary_key=True),
    Column("shard", String(16), primary_key=True),
    Column("phase", String(20), primary_key=True),
    Column("cursor", String(64)),
    Column("done", Boolean, nullable=False),
    Column("counts", JSON, nullable=False),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("finished_at", UTCDateTime()),
)

# Every occurrence the rules decided, in the order it was recorded: what a backtest and explain
# replay. `source_type` is transaction, event, redemption or adjustment; the details are in
# their tables.
history = Table(
    "history",
    metadata,
    Column("seq", Id, primary_key=True, autoincrement=True),
    Column("member_id", String(64), ForeignKey("members.member_id"), nullable=False),
    Column("source_type", String(20), nullable=False),
    Column("source_id", String(128), nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Index("ix_history_member_seq", "member_id", "seq"),
    Index("ix_history_source", "source_id"),
)

# --- member profile: consent, profile history, erasure, member tokens (migration 0007) ---

# Every change to a member's profile: one row per field, with its old and new value (JSON),
# who changed it and why (`source`: profile, consent, merge, erasure). An erasure scrubs the
# personal values of its rows.
member_changes = Table(
    "member_changes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("member_id", String(64), ForeignKey("members.member_id"), nullable=False),
    Column("field", String(100), nullable=False),
    Column("old_value", JSON),
    Column("new_value", JSON),
    Column("changed_at", UTCDateTime(), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("source", String(20), nullable=False),
    Index("ix_member_changes_member", "member_id", "id"),
)

# --- merging duplicate members (migration 0008) ---

# A merged duplicate's phone numbers and e-mail addresses that its survivor did not take over
# (it had its own): they still find the survivor, and nobody enrols with them again.
member_aliases = Table(
    "member_aliases",
    metadata,
    Column("field", String(10), primary_key=True),  # phone or email
    Column("value", String(320), primary_key=True),  # normalised as on members
    Column("member_id", String(64), ForeignKey("members.member_id"), nullable=False),
    Column("merged_from", String(64), nullable=False),
    Column("merge_id", String(128), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_member_aliases_member", "member_id"),
    info={"personal": "delete"},
)

# --- notifications outbox, webhook endpoints, deliveries (migration 0009) ---

# Where notifications are sent: an HTTPS endpoint for some kinds and channels (empty lists: all),
# with the secret its requests are signed with. A removed endpoint keeps its row (and its
# deliveries) with `removed_at` set.
webhook_endpoints = Table(
    "webhook_endpoints",
    metadata,
    Column("endpoint_id", String(32), primary_key=True),
    Column("url", Text, nullable=False),
    Column("kinds", JSON, nullable=False),
    Column("channels", JSON, nullable=False),
    Column("secret", String(100), nullable=False),
    Column("description", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("removed_at", UTCDateTime()),
)

# One notification sent to one endpoint: each attempt's outcome, and when it arrived.
notification_deliveries = Table(
    "notification_deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("notification", Id, ForeignKey("notifications.id"), nullable=False),
    Column("endpoint_id", String(32), ForeignKey("webhook_endpoints.endpoint_id"),
           nullable=False),
    Column("status", String(12), nullable=False),  # delivered or failed
    Column("attempts", Integer, nullable=False),
    Column("last_status", Integer),  # the HTTP status of the last answer, if any
    Column("last_error", Text),
    Column("attempted_at", UTCDateTime(), nullable=False),
    Column("delivered_at", UTCDateTime()),
    UniqueConstraint("notification", "endpoint_id",
                     name="uq_notification_deliveries_notification"),
)

# --- relatives and important dates (migration 0010) ---

# the people who matter to a member (a spouse, a child...), by an id the till chose
member_relatives = Table(
    "member_relatives",
    metadata,
    Column("relative_id", String(128), primary_key=True),
    Column("member_id", String(64), ForeignKey("members.member_id"), nullable=False),
    Column("relation", String(20), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_member_relatives_member", "member_id"),
)

# the days a member wants remembered, every year: a relative's birthday, a wedding anniversary
important_dates = Table(
    "important_dates",
    metadata,
    Column("date_id", String(128), primary_key=True),
    Column("member_id", String(64), ForeignKey("members.member_id"), nullable=False),
    Column("kind", String(30), nullable=False),
    Column("label", String(100)),
    Column("relative_id", String(128), ForeignKey("member_relatives.relative_id")),
    Column("month", Integer, nullable=False),
    Column("day", Integer, nullable=False),
    Column("year", Integer),  # the first one, when known; the day recurs every year after it
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_important_dates_member", "member_id"),
    Index("ix_important_dates_relative", "relative_id"),
)

# --- referrals and point transfers (migration 0011) ---

# Points one member gave another (a family pooling points): the ledger holds the entries on
# both sides (transfer_out, transfer_in); `lots` the pieces moved, each with its earned, pending
# and expiry instants (ISO text), so a replay gives the receiver the same lots.
transfers = Table(
    "transfers",
    metadata,
    Column("transfer_id", String(128), primary_key=True),
    Column("from_member_id", String(64), ForeignKey("members.member_id"), nullable=False),
    Column("to_member_id", String(64), ForeignKey("members.member_id"), nullable=False),
    Column("points", BigInteger, nullable=False),
    Column("reason", Text),
    Column("actor", String(200), nullable=False),
    Column("lots", JSON, nullable=False),
    Column("occurred_at", UTCDateTime(), nullable=False),
    Column("recorded_at", UTCDateTime(), nullable=False),
    Index("ix_transfers_from", "from_member_id", "occurred_at"),
    Index("ix_transfers_to", "to_member_id"),
)

# --- member tokens for member apps (migration 0012) ---

# Read-only bearer tokens a member app uses to read its own member (`lm_<token_id>_<secret>`):
# issued at a till or a service desk, stored hashed like API keys, revocable, optionally expiring.
member_tokens = Table(
    "member_tokens",
    metadata,
    Column("token_id", String(32), primary_key=True),
    Column("member_id", String(64), ForeignKey("members.member_id"), nullable=False),
    Column("token_hash", String(64), nullable=False),
    Column("name", String(100)),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("expires_at", UTCDateTime()),
    Column("revoked_at", UTCDateTime()),
    Column("revoked_by", String(200)),
    Index("ix_member_tokens_member", "member_id"),
)

# --- monthly member snapshots for the value reports (migration 0014) ---

# Where each member stood at the first sweep of each month (UTC): tier, VIP, lifecycle stage,
# value segment and value, and what they spent over the 365 days before. The rows of a month
# also keep the stage and segment of the member's row of the month before (null: no row then),
# so movements between months read from one month's rows.
member_snapshots = Table(
    "member_snapshots",
    metadata,
    Column("month", Date, primary_key=True),
    Column("member_id", String(64), primary_key=True),
    Column("tier", String(40), nullable=False),
    Column("vip", Boolean, nullable=False),
    Column("lifecycle_stage", String(20), nullable=False),
    Column("value_segment", String(20)),
    Column("current_value", Money()),
    Column("spend_365d", Money(), nullable=False),
    Column("previous_stage", String(20)),
    Column("previous_segment", String(20)),
    Column("taken_at", UTCDateTime(), nullable=False),
    Index("ix_member_snapshots_spend", "month", "spend_365d"),
)

# --- win-back control groups (migration 0015) ---

# The group each member fell in when a rule with a holdout decided for them: `offer` (the rule
# acted) or `control` (set aside, nothing given). The win-back report compares what the two
# groups bought between `decided_at` and `window_until` (decided_at + within_days). A member's
# group of a rule never changes; one row per rule, member and occurrence decided.
offer_experiments = Table(
    "offer_experiments",
    metadata,
    Column("experiment_id", Id, primary_key=True, autoincrement=True),
    Column("rule_id", String(100), nullable=False),
    Column("campaign", String(100)),
    Column("ruleset_version", String(20), nullable=False),
    Column("member_id", String(64), ForeignKey("members.member_id"), nullable=False),
    Column("grp", String(10), nullable=False),
    Column("percent", Integer, nullable=False),
    Column("within_days", Integer, nullable=False),
    Column("source_type", String(20), nullable=False),
    Column("source_id", String(128), nullable=False),
    Column("decided_at", UTCDateTime(), nullable=False),
    Column("window_until", UTCDateTime(), nullable=False),
    UniqueConstraint("rule_id", "member_id", "source_id",
                     name="uq_offer_experiments_rule_id"),
    Index("ix_offer_experiments_rule", "rule_id", "window_until"),
    Index("ix_offer_experiments_member", "member_id"),
)
