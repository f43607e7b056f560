"""The daily sweep: every time-based behaviour, run as of an instant, in batches."""

from loyalty.services.sweep.base import Shard
from loyalty.services.sweep.runner import run_sweep

__all__ = ["Shard", "run_sweep"]
