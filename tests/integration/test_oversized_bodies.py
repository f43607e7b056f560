"""A body larger than the service accepts is refused with 413 in the one JSON error shape,
however it is sent: with a Content-Length over the limit (before a byte of it is read), with a
Content-Length that lies, or in chunks without one; and nothing is recorded. Werkzeug cuts a
streamed body at the limit without a word, so this is tested under gunicorn, which streams
chunked bodies to the app, as well as through the Flask test client."""

from __future__ import annotations

import io
import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from loyalty.api import MAX_BODY_BYTES
from loyalty.services.context import ServiceContext
from tests.api.hostile import counts, error_shape_problems, open_till
from tests.integration.served import Service

Auth = Callable[[str], dict[str, str]]
LIMIT = 4096
TOO_LARGE = {"code": "payload_too_large",
             "message": f"The request body is larger than the {LIMIT:,} bytes the service "
                        "accepts.", "details": {}}


def padded(body: dict[str, object], size: int) -> bytes:
    """`body` as JSON followed by spaces up to `size` bytes: valid JSON of any length."""
    text = json.dumps(body).encode()
    return text + b" " * (size - len(text))


@pytest.fixture
def small(app: Flask, ctx: ServiceContext, client: FlaskClient, auth: Auth) -> FlaskClient:
    """The service with a limit of 4 KiB, a member enrolled."""
    open_till(client, ctx, auth)
    app.config["MAX_CONTENT_LENGTH"] = LIMIT
    return client


def post(client: FlaskClient, auth: Auth, path: str, data: bytes, *,
         chunked: bool = False, length: int | None = None) -> tuple[int, dict[str, object]]:
    headers = {**auth("pos"), "Content-Type": "application/json"}
    if chunked:
        response = client.post(path, input_stream=io.BytesIO(data),
                               headers={**headers, "Transfer-Encoding": "chunked"},
                               environ_overrides={"wsgi.input_terminated": True})
    else:
        claimed = {} if length is None else {"CONTENT_LENGTH": str(length)}
        response = client.post(path, data=data, headers=headers, environ_overrides=claimed)
    assert not error_shape_problems(response) or response.status_code < 400
    return response.status_code, response.get_json()


def test_a_body_over_the_limit_is_refused(small: FlaskClient, ctx: ServiceContext,
                                          auth: Auth) -> None:
    before = counts(ctx)
    assert post(small, auth, "/api/v1/members", padded({"name": "Ann"}, LIMIT + 1)) == \
        (413, TOO_LARGE)
    assert counts(ctx) == before


def test_a_body_of_exactly_the_limit_is_read(small: FlaskClient, auth: Auth) -> None:
    status, _ = post(small, auth, "/api/v1/members", padded({"name": "Ann"}, LIMIT))
    assert status == 201


def test_a_length_that_claims_too_much_is_refused_before_reading(small: FlaskClient,
                                                                 auth: Auth) -> None:
    assert post(small, auth, "/api/v1/members", b'{"name": "Ann"}', length=LIMIT * 100) == \
        (413, TOO_LARGE)


def test_a_body_sent_in_chunks_over_the_limit_is_refused_not_cut(small: FlaskClient,
                                                                 ctx: ServiceContext,
                                                                 auth: Auth) -> None:
    before = counts(ctx)
    # Cut at the limit, this would still be a valid enrolment.
    body = padded({"name": "Ann"}, LIMIT * 3)
    assert post(small, auth, "/api/v1/members", body, chunked=True) == (413, TOO_LARGE)
    assert counts(ctx) == before


def test_a_body_sent_in_chunks_within_the_limit_is_read(small: FlaskClient,
                                                        auth: Auth) -> None:
    status, _ = post(small, auth, "/api/v1/members", padded({"name": "Ann"}, LIMIT),
                     chunked=True)
    assert status == 201


def test_chunks_a_server_does_not_end_are_refused_rather_than_taken_for_no_body(
    small: FlaskClient, ctx: ServiceContext, auth: Auth
) -> None:
    before = counts(ctx)
    response = small.post("/api/v1/members", input_stream=io.BytesIO(b'{"name": "Ann"}'),
                          headers={**auth("pos"), "Content-Type": "application/json",
                                   "Transfer-Encoding": "chunked"})
    assert response.status_code == 411
    assert response.get_json()["code"] == "length_required"
    assert counts(ctx) == before


def test_a_multipart_upload_over_the_limit_is_refused(small: FlaskClient, auth: Auth) -> None:
    boundary = "b0undary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; "
            f"filename=\"earning.yaml\"\r\n\r\n{'#' * LIMIT * 2}\r\n--{boundary}--\r\n").encode()
    content_type = f"multipart/form-data; boundary={boundary}"
    for chunked in (False, True):
        extra = ({"input_stream": io.BytesIO(body), "environ_overrides": {
            "wsgi.input_terminated": True}} if chunked else {"data": body})
        response = small.post("/api/v1/rules/drafts", headers={
            **auth("marketing"), "Content-Type": content_type,
            **({"Transfer-Encoding": "chunked"} if chunked else {})}, **extra)
        assert (response.status_code, response.get_json()) == (413, TOO_LARGE), chunked


def test_a_read_with_a_body_over_the_limit_is_refused(small: FlaskClient, auth: Auth) -> None:
    response = small.get("/api/v1/rewards", data=b" " * (LIMIT + 1), headers=auth("pos"))
    assert (response.status_code, response.get_json()) == (413, TOO_LARGE)


# -- under gunicorn ------------------------------------------------------------------------

SERVED_TOO_LARGE = {"code": "payload_too_large",
                    "message": f"The request body is larger than the {MAX_BODY_BYTES:,} bytes "
                               "the service accepts.", "details": {}}


@pytest.fixture
def served(database_url: str, ctx: ServiceContext, client: FlaskClient, auth: Auth,
           tmp_path: Path) -> Iterator[tuple[Service, dict[str, str]]]:
    """The service under gunicorn on the test database, and a till's headers for it."""
    open_till(client, ctx, auth)
    with Service(database_url, 1, tmp_path) as service:
        yield service, auth("pos")


def exchange(service: Service, head: str, body: bytes = b"", *,
             close_sending: bool = False) -> tuple[float, int, dict[str, object], bytes]:
    """Send raw bytes, read until the server closes: seconds taken, status, JSON body, rest."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", service.port), timeout=60) as sock:
        sock.sendall(head.encode())
        try:
            sock.sendall(body)
            if close_sending:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # the server answered and closed before reading it all
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    head_part, _, rest = received.partition(b"\r\n\r\n")
    status = int(head_part.split()[1])
    length = int(next(line.split(b":")[1] for line in head_part.split(b"\r\n")
                      if line.lower().startswith(b"content-length:")))
    return time.monotonic() - started, status, json.loads(rest[:length]), rest[length:]


def request_head(headers: dict[str, str], path: str, **extra: str) -> str:
    lines = [f"POST {path} HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
             *(f"{name}: {value}" for name, value in {**headers, **extra}.items())]
    return "\r\n".join(lines) + "\r\n\r\n"


def chunks(data: bytes, size: int = 65536) -> bytes:
    out = b"".join(f"{len(data[i:i + size]):x}\r\n".encode() + data[i:i + size] + b"\r\n"
                   for i in range(0, len(data), size))
    return out + b"0\r\n\r\n"


def test_under_gunicorn_every_way_of_sending_too_much_is_refused(
    served: tuple[Service, dict[str, str]], ctx: ServiceContext
) -> None:
    service, headers = served
    before = counts(ctx)
    body = padded({"name": "Ann"}, MAX_BODY_BYTES + 1)
    path = "/api/v1/members"
    said_so = request_head(headers, path, **{"Content-Length": str(len(body))})
    seconds, status, answer, _ = exchange(service, said_so, body)
    assert (status, answer) == (413, SERVED_TOO_LARGE)
    seconds, status, answer, _ = exchange(service, said_so)  # the body never comes
    assert (status, answer) == (413, SERVED_TOO_LARGE)
    assert seconds < 30  # answered at once, not after waiting for the body
    chunked = request_head(headers, path, **{"Transfer-Encoding": "chunked"})
    seconds, status, answer, _ = exchange(service, chunked, chunks(body))
    assert (status, answer) == (413, SERVED_TOO_LARGE)
    assert counts(ctx) == before


def test_under_gunicorn_a_body_in_chunks_within_the_limit_is_read(
    served: tuple[Service, dict[str, str]], ctx: ServiceContext
) -> None:
    service, headers = served
    head = request_head(headers, "/api/v1/members", **{"Transfer-Encoding": "chunked"})
    _, status, answer, _ = exchange(service, head, chunks(padded({"name": "Bo"}, 100_000), 999))
    assert status == 201, answer
    assert answer["name"] == "Bo"


def test_under_gunicorn_bytes_past_a_short_length_are_never_read_as_a_request(
    served: tuple[Service, dict[str, str]], ctx: ServiceContext
) -> None:
    service, headers = served
    before = counts(ctx)
    body = b'{"name": "Ann"}'
    smuggled = request_head(headers, "/api/v1/members",
                            **{"Content-Length": str(len(body))}).encode() + body
    head = request_head(headers, "/api/v1/members", **{"Content-Length": "8"})
    _, status, answer, rest = exchange(service, head, body + smuggled * 200)
    assert status == 422 and answer["code"] == "validation_error"  # the 8 bytes said
    assert rest == b""  # one answer: what followed was not taken for a second request
    assert counts(ctx) == before


def test_under_gunicorn_a_length_longer_than_the_body_is_refused_when_the_till_stops(
    served: tuple[Service, dict[str, str]], ctx: ServiceContext
) -> None:
    service, headers = served
    before = counts(ctx)
    head = request_head(headers, "/api/v1/members", **{"Content-Length": "1000"})
    _, status, answer, _ = exchange(service, head, b'{"name": "Ann"}', close_sending=True)
    assert status == 400 and not set(answer) ^ {"code", "message", "details"}
    assert counts(ctx) == before
