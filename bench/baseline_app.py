"""The baseline the purchase endpoint is measured against: a minimal Flask endpoint that
inserts one row with the SQLAlchemy ORM and commits. Served by gunicorn like the real app."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from flask import Flask, jsonify, request
from sqlalchemy import DateTime, Engine, String, create_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


class Base(DeclarativeBase):
    pass


class Receipt(Base):
    __tablename__ = "baseline_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    transaction_id: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def _engine(url: str) -> Engine:
    return create_engine(url, connect_args={"timeout": 30} if url.startswith("sqlite") else {})


def prepare(url: str) -> None:
    """Create the table once, before the workers start (two workers racing to create it fail)."""
    engine = _engine(url)
    if url.startswith("sqlite"):  # the same journal mode the service uses, so both write alike
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
    Base.metadata.create_all(engine)
    engine.dispose()


def create_app() -> Flask:
    engine = _engine(os.environ["BASELINE_DATABASE_URL"])
    app = Flask("baseline")

    @app.post("/insert")
    def insert() -> object:
        body = request.get_json()
        with Session(engine) as session:
            session.add(
                Receipt(transaction_id=body["transaction_id"], created_at=datetime.now(UTC))
            )
            session.commit()
        return jsonify({"ok": True}), 201

    return app
