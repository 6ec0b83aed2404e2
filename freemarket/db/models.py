"""SQLAlchemy 2 typed models: the schema every migration must produce."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from freemarket.matching.core import ITEM_KINDS

# Stable constraint names, so Alembic can drop and alter them on both SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

USER_ROLES = ("user", "admin")
VISIBILITIES = ("public", "matches", "private")
# skipped: not sent on purpose (the person turned Telegram notifications off; the web has it).
NOTIFICATION_STATUSES = ("pending", "sending", "sent", "failed", "dead", "skipped")
NOTIFICATION_CHANNELS = ("web", "telegram")
EXCHANGE_STATUSES = ("proposed", "accepted", "completed", "declined", "cancelled", "expired")
EXCHANGE_KINDS = ("direct", "swap", "cycle")
JOB_STATUSES = ("pending", "running", "done", "failed")
REPORT_STATUSES = ("open", "resolved", "dismissed")

TITLE_MAX = 200
DESCRIPTION_MAX = 5000
COMMENT_MAX = 1000
REASON_MAX = 1000
USERNAME_MAX = 64
# A Telegram first and last name (64 characters each) and the space between them.
DISPLAY_NAME_MAX = 129
CONTACT_MAX = 200
CITY_MAX = 100

# Wide enough for Telegram ids (64-bit) but still an autoincrementing rowid on SQLite.
BigIntId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        """Store UTC; a naive value is taken to be UTC already."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        """Hand back an aware UTC datetime whatever the backend returned."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base with the naming convention and aware timestamps."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class Category(Base):
    """A listing category; the 21 defaults are seeded by the first migration."""

    __tablename__ = "categories"

    slug: Mapped[str] = mapped_column(String(32), primary_key=True)
    name_ru: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)


class User(Base):
    """A person on the marketplace (or an operator, with role admin)."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(_in("role", USER_ROLES), name="role"),
        CheckConstraint("trust_score >= 0 AND trust_score <= 5", name="trust_range"),
        CheckConstraint(
            "(quiet_start IS NULL AND quiet_end IS NULL) OR "
            "(quiet_start BETWEEN 0 AND 23 AND quiet_end BETWEEN 0 AND 23)",
            name="quiet_hours",
        ),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    telegram_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    username: Mapped[str] = mapped_column(String(USERNAME_MAX), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(DISPLAY_NAME_MAX))
    contact: Mapped[str | None] = mapped_column(String(CONTACT_MAX))
    city: Mapped[str | None] = mapped_column(String(CITY_MAX))
    # None until the person chooses, or Telegram or their browser tells us (then Russian).
    language: Mapped[str | None] = mapped_column(String(8))
    role: Mapped[str] = mapped_column(String(16), default="user")
    is_banned: Mapped[bool] = mapped_column(Boolean, default=False)
    # None until the first counted rating; then a Bayesian average (see freemarket.domain.ratings).
    trust_score: Mapped[float | None] = mapped_column(Float)
    rating_count: Mapped[int] = mapped_column(Integer, default=0)
    # How the person wants to be told on Telegram (the web inbox always has everything).
    notify_telegram: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    digest_enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    # Quiet hours in the person's local time, [start, end) in whole hours; None: no quiet hours.
    quiet_start: Mapped[int | None] = mapped_column(Integer)
    quiet_end: Mapped[int | None] = mapped_column(Integer)
    # An IANA zone ("Europe/Moscow") or a fixed offset ("+03:00"); None: from the city.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    profile: Mapped[Profile | None] = relationship(back_populates="user", uselist=False)

    @property
    def is_admin(self) -> bool:
        """True for operators who may act on anything."""
        return self.role == "admin"


class Profile(Base):
    """A user's profile: free-form data, location and who may see it."""

    __tablename__ = "profiles"
    __table_args__ = (CheckConstraint(_in("visibility", VISIBILITIES), name="visibility"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    location: Mapped[str | None] = mapped_column(String(CITY_MAX))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    visibility: Mapped[str] = mapped_column(String(16), default="public")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(back_populates="profile")


class Item(Base):
    """Something a user offers or wants."""

    __tablename__ = "items"
    __table_args__ = (
        CheckConstraint(_in("kind", ITEM_KINDS), name="kind"),
        # Ends with the id: a filtered list page reads newest first and stops (issue 14).
        Index("ix_items_active_kind_category_id", "active", "kind", "category", "id"),
        Index("ix_items_user_id", "user_id"),
        Index("ix_items_city", "city"),
        # Workers fold "items changed since I last looked" into their index on every pass.
        Index("ix_items_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))
    category: Mapped[str] = mapped_column(ForeignKey("categories.slug"))
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    description: Mapped[str] = mapped_column(Text, default="")
    # "metadata" is reserved on declarative classes, so the attribute is `meta`.
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", default=dict)
    city: Mapped[str | None] = mapped_column(String(CITY_MAX))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    delivery: Mapped[bool] = mapped_column(Boolean, default=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    external_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    owner: Mapped[User] = relationship()
    photos: Mapped[list[ItemPhoto]] = relationship(
        order_by="ItemPhoto.position", cascade="all, delete-orphan", passive_deletes=True
    )


class ItemPhoto(Base):
    """A photo of an item: its thumbnail and display size live in the photo storage under `key`.

    The key is random and made once per upload, so a stored file never changes and may be
    cached for good, and no two photos share files; `position` orders the photos and caps them
    per item (unique).
    """

    __tablename__ = "item_photos"
    __table_args__ = (
        UniqueConstraint("item_id", "position", name="uq_item_photos_position"),
        Index("ix_item_photos_key", "key"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Match(Base):
    """A want item matched to another user's offer item."""

    __tablename__ = "matches"
    __table_args__ = (
        UniqueConstraint("want_item_id", "offer_item_id", name="uq_matches_pair"),
        CheckConstraint("score >= 0 AND score <= 1.000001", name="score_range"),
        Index("ix_matches_offer_item_id", "offer_item_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    want_item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    offer_item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    score: Mapped[float] = mapped_column(Float)
    computed_by: Mapped[str] = mapped_column(String(32))
    explanation: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    want_item: Mapped[Item] = relationship(foreign_keys=[want_item_id])
    offer_item: Mapped[Item] = relationship(foreign_keys=[offer_item_id])


class MatchDismissal(Base):
    """A person said "not interested" to a want/offer pair: hidden for them, a training negative.

    Keyed by the pair of items, not by the match row: a recompute may delete a match and create
    it again, and the person's answer must outlive that.
    """

    __tablename__ = "match_dismissals"
    __table_args__ = (
        UniqueConstraint(
            "user_id", "want_item_id", "offer_item_id", name="uq_match_dismissals_pair"
        ),
        Index("ix_match_dismissals_want_offer", "want_item_id", "offer_item_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    want_item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    offer_item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Exchange(Base):
    """An agreed (or proposed) exchange: a direct deal, a swap or a 3-way cycle."""

    __tablename__ = "exchanges"
    __table_args__ = (
        CheckConstraint(_in("status", EXCHANGE_STATUSES), name="status"),
        CheckConstraint(_in("kind", EXCHANGE_KINDS), name="kind"),
        Index("ix_exchanges_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), default="direct")
    status: Mapped[str] = mapped_column(String(16), default="proposed")
    proposed_by_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    expires_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    legs: Mapped[list[ExchangeLeg]] = relationship(
        back_populates="exchange", cascade="all, delete-orphan", order_by="ExchangeLeg.id"
    )
    parties: Mapped[list[ExchangeParty]] = relationship(
        back_populates="exchange", cascade="all, delete-orphan", order_by="ExchangeParty.id"
    )


class ExchangeLeg(Base):
    """One item going from one party to another within an exchange."""

    __tablename__ = "exchange_legs"
    __table_args__ = (
        UniqueConstraint("exchange_id", "item_id", name="uq_exchange_legs_item"),
        Index("ix_exchange_legs_item_id", "item_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    exchange_id: Mapped[int] = mapped_column(ForeignKey("exchanges.id", ondelete="CASCADE"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    # The want this leg fulfils (from the match it was proposed from), closed on completion.
    want_item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="SET NULL"))
    from_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    to_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))

    exchange: Mapped[Exchange] = relationship(back_populates="legs")
    item: Mapped[Item] = relationship(foreign_keys=[item_id])

    @property
    def item_title(self) -> str:
        """The title of the item that changes hands."""
        return self.item.title


class ExchangeParty(Base):
    """A person taking part in an exchange, with their decision and completion."""

    __tablename__ = "exchange_parties"
    __table_args__ = (
        UniqueConstraint("exchange_id", "user_id", name="uq_exchange_parties_member"),
        Index("ix_exchange_parties_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    exchange_id: Mapped[int] = mapped_column(ForeignKey("exchanges.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    accepted_at: Mapped[datetime | None] = mapped_column()
    completed_at: Mapped[datetime | None] = mapped_column()

    exchange: Mapped[Exchange] = relationship(back_populates="parties")


class Rating(Base):
    """One party's rating of another after a completed exchange."""

    __tablename__ = "ratings"
    __table_args__ = (
        UniqueConstraint("tx_id", "from_user_id", "to_user_id", name="uq_ratings_once"),
        CheckConstraint("score >= 1 AND score <= 5", name="score_range"),
        CheckConstraint("from_user_id <> to_user_id", name="not_self"),
        Index("ix_ratings_to_user_id", "to_user_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    from_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    to_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    tx_id: Mapped[int] = mapped_column(ForeignKey("exchanges.id", ondelete="CASCADE"))
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(String(COMMENT_MAX))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Null while hidden: until the other side rates back or the reveal period ends, a rating is
    # shown to no one and moves no score (freemarket.domain.ratings).
    revealed_at: Mapped[datetime | None] = mapped_column()


class Notification(Base):
    """Outbox row: a message to deliver to a user on a channel, at most once per dedupe key."""

    __tablename__ = "notifications"
    __table_args__ = (
        CheckConstraint(_in("status", NOTIFICATION_STATUSES), name="status"),
        CheckConstraint(_in("channel", NOTIFICATION_CHANNELS), name="channel"),
        Index("ix_notifications_status_next", "status", "next_attempt_at"),
        Index("ix_notifications_user_id", "user_id"),
        # Deleting a match sets its notifications' match_id to NULL: without this index each
        # deletion scanned the whole table.
        Index("ix_notifications_match_id", "match_id"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16), default="web")
    kind: Mapped[str] = mapped_column(String(32), default="match")
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    match_id: Mapped[int | None] = mapped_column(ForeignKey("matches.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    dedupe_key: Mapped[str] = mapped_column(String(128), unique=True)
    sent_at: Mapped[datetime | None] = mapped_column()
    read_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Job(Base):
    """Pending background work (matching an item, a recompute partition), claimed by workers."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(_in("status", JOB_STATUSES), name="status"),
        Index("ix_jobs_status_run_after", "status", "run_after"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    locked_by: Mapped[str | None] = mapped_column(String(64))
    locked_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()


class AuthSession(Base):
    """A sign-in session: only the SHA-256 of its opaque token is stored."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
    origin: Mapped[str] = mapped_column(String(32), default="cli")

    user: Mapped[User] = relationship()


class LoginCode(Base):
    """A one-time sign-in code (from the CLI or the bot), stored hashed."""

    __tablename__ = "login_codes"

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditLog(Base):
    """A record of an administrative action: who did what to which object."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    actor_label: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Report(Base):
    """A complaint about an item or a user, for moderators."""

    __tablename__ = "reports"
    __table_args__ = (
        CheckConstraint(_in("status", REPORT_STATUSES), name="status"),
        CheckConstraint("item_id IS NOT NULL OR reported_user_id IS NOT NULL", name="has_target"),
        Index("ix_reports_status", "status"),
    )

    id: Mapped[int] = mapped_column(BigIntId, primary_key=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"))
    reported_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(REASON_MAX))
    status: Mapped[str] = mapped_column(String(16), default="open")
    resolution: Mapped[str | None] = mapped_column(String(REASON_MAX))
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column()


class UsedNonce(Base):
    """A sign-in payload already used once, remembered until it would have expired anyway."""

    __tablename__ = "used_nonces"
    __table_args__ = (Index("ix_used_nonces_expires_at", "expires_at"),)

    nonce_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column()


class ItemSearchTerm(Base):
    """One analysed term of an item (stem, lexicon concept or model code) and its weight.

    Written whenever an item's text is saved, from the same text pipeline that matching uses,
    so a search for "велик" or "bike" finds "велосипед" through an indexed lookup by term. The
    weight is the term's share of the item's (length-normalised) text in thousandths, an
    integer so that relevance sums are exact and a relevance cursor compares them reliably.
    """

    __tablename__ = "item_search_terms"
    __table_args__ = (
        Index("ix_item_search_terms_item_id", "item_id"),
        # A one-word search reads its term's items heaviest first and stops after a page.
        Index("ix_item_search_terms_term_weight", "term", "weight", "item_id"),
    )

    term: Mapped[str] = mapped_column(String(64), primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    weight: Mapped[int] = mapped_column(Integer)


class SearchIndexState(Base):
    """The single row saying which text pipeline the stored search terms were written by.

    A changed lexicon or analyser changes the fingerprint, and the next worker start or
    recompute rewrites every item's terms; the row is also the lock that makes one process do it.
    """

    __tablename__ = "search_index_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime | None] = mapped_column()
