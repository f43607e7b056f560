"""The baseline the purchase endpoint is measured against: a minimal Flask endpoint that
inserts one row with the SQLAlchemy ORM and commits. Served by gunicorn like the real app.

`engine_for`, `prepare` and `insert_receipt` are shared with `bench.floor_app`, so the floor
writes exactly the row the baseline writes."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, jsonify, request
from sqlalchemy import DateTime, Engine, String, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class Base(DeclarativeBase):
    pass


class Receipt(Base):
    __tablename__ = "baseline_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def engine_for(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url)
    engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # the service's durability setting: WAL synced at checkpoints, not at every commit
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")

    return engine


def prepare(url: str) -> None:
    """Create the table once, before the workers start (two workers racing to create it fail)."""
    engine = engine_for(url)
    if url.startswith("sqlite"):  # the same journal mode the service uses, so both write alike
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    Base.metadata.create_all(engine)
    engine.dispose()


def insert_receipt(engine: Engine, transaction_id: str) -> None:
    """One ORM row, committed."""
    with Session(engine) as session:
        session.add(Receipt(transaction_id=transaction_id, created_at=datetime.now(UTC)))
        session.commit()


def create_app() -> Flask:
    engine = engine_for(os.environ["BASELINE_DATABASE_URL"])
    app = Flask("baseline")

    @app.post("/insert")
    def insert() -> tuple[Response, int]:
        body = request.get_json()
        insert_receipt(engine, body["transaction_id"])
        return jsonify({"ok": True}), 201

    return app
