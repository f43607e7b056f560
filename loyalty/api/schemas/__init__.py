"""Schemas at the edge: requests load into commands, responses describe the bodies."""

from loyalty.api.schemas import programme_requests, requests, responses

__all__ = ["programme_requests", "requests", "responses"]
