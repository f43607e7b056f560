"""Schemas at the edge: requests load into commands, responses describe the bodies."""

from loyalty.api.schemas import requests, responses

__all__ = ["requests", "responses"]
