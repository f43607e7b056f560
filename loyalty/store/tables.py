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
    Index("ix_members_bucket", "bucket", "member_id"),
    Index("ix_members_tier_review", "tier_review_at"),
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
