"""PostgreSQL connections with timeouts: connecting, each statement on the server, and any
wait for the server's answer, so that a database that hangs costs a request seconds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

import psycopg
from psycopg import errors as pg_errors

RV = TypeVar("RV")

#: Seconds a connection may wait for the server's answer beyond the statement timeout before
#: it gives up on a server that has gone silent (the server reports its own timeout first).
ANSWER_GRACE_SECONDS = 2.0

#: TCP keepalives, so that a pooled connection to a peer that vanished is found dead by the
#: system even while it sits idle: probes after 30 s idle, every 10 s, 3 unanswered at most.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 30, "keepalives_interval": 10,
              "keepalives_count": 3}


#: The client library version that knows `tcp_user_timeout` (sent data unacknowledged for
#: that long by the peer's system ends the connection).
TCP_USER_TIMEOUT_SINCE = 120000


class AnsweringConnection(psycopg.Connection[Any]):
    """A psycopg connection that gives up on a server that sends no answer within
    `answer_timeout` seconds: it closes itself and raises OperationalError, so the pool drops
    it (a server that accepts but never answers would otherwise hold the request for ever)."""

    answer_timeout: float | None = None

    def wait(self, gen: Any, *args: Any, **kwargs: Any) -> Any:
        limit = self.answer_timeout
        if limit is None or len(args) > 1 or kwargs.get("timeout") is not None:
            return super().wait(gen, *args, **kwargs)
        kwargs["timeout"] = limit
        try:
            return super().wait(gen, *args, **kwargs)
        except pg_errors._WaitTimeout as error:
            self.close()
            raise psycopg.OperationalError(
                f"the database did not answer within {limit:g} s") from error


def connect(cargs: Sequence[Any], cparams: dict[str, Any], *, connect_timeout: int | None,
            statement_timeout: float | None) -> AnsweringConnection:
    """A connection with the timeouts given (None: the driver's default) and keepalives; what
    the database URL sets itself is kept."""
    params = {**KEEPALIVES, **cparams}
    if connect_timeout is not None:
        params.setdefault("connect_timeout", max(2, int(connect_timeout)))
    answer: float | None = None
    if statement_timeout is not None:
        milliseconds = max(1, round(statement_timeout * 1000))
        options = f"-c statement_timeout={milliseconds} {params.get('options') or ''}"
        params["options"] = options.strip()
        answer = statement_timeout + ANSWER_GRACE_SECONDS
        if psycopg.pq.version() >= TCP_USER_TIMEOUT_SINCE:
            params.setdefault("tcp_user_timeout", round(answer * 1000))
    conn = AnsweringConnection.connect(*cargs, **params)
    conn.answer_timeout = answer
    return conn
