"""The one place that talks to durable_rules: a private Host per process, used safely.

The engine only matches. Each evaluation asserts facts with unique ids on one fixed session,
collects which rules fired, and retracts the facts, all under one lock. The Host is created
lazily and again after a fork; its dispatcher threads are not started (actions run
synchronously inside assert, and no timers are used).
"""

from __future__ import annotations

import copy
import itertools
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

import durable.engine as durable_engine
import orjson
from durable.engine import Host

logger = logging.getLogger(__name__)
#: The most properties one fact may hold: the engine counts them in a byte and, from the 255th
#: on, silently matches nothing (measured with durable-rules 2.0.28).
MAX_FACT_PROPERTIES = 254
SID = "1"
Hit = tuple[str, dict[str, Any]]


class _FastJson:
    """The same JSON durable writes with the stdlib `json` module, written by orjson.

    durable serialises every fact and, for every rule that fires, the session state, in
    Python; with the stdlib encoder that is about a third of an evaluation's time.
    """

    @staticmethod
    def dumps(value: Any, ensure_ascii: bool = False, **_: Any) -> str:
        try:
            return orjson.dumps(value).decode()
        except TypeError:
            return json.dumps(value, ensure_ascii=ensure_ascii)

    @staticmethod
    def loads(text: str | bytes) -> Any:
        return orjson.loads(text)


def _tune_durable() -> None:
    """Faster JSON, and a monotonic-enough clock for action leases (it was datetime math)."""
    durable_engine.json = _FastJson
    durable_engine._unix_now = time.time



class EngineError(RuntimeError):
    """The rule engine failed while matching; no decision may be taken from this evaluation."""


class _CollectingHost(Host):
    """A Host whose actions only record (rule key, matched fact)."""

    def __init__(self) -> None:
        self.collected: list[tuple[str, dict[str, Any]]] = []
        super().__init__()

    def _run(self) -> None:
        """Start no dispatcher or timer threads: nothing is queued for later."""

    def get_action(self, action_name: str) -> Callable[[Any], None]:
        def collect(c: Any) -> None:
            message = getattr(c, "_m", None) or {}
            self.collected.append((action_name, dict(message.get("m", {}))))

        return collect


class Engine:
    """Registers compiled rulesets once per process and evaluates facts against them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._host: _CollectingHost | None = None
        self._registered: set[str] = set()
        self._ids = itertools.count(1)

    def _current(self) -> _CollectingHost:
        if self._host is None or self._pid != os.getpid():
            _tune_durable()
            self._host = _CollectingHost()
            self._pid = os.getpid()
            self._registered = set()
        return self._host

    def register(self, name: str, definition: dict[str, Any]) -> None:
        """Load a compiled ruleset into this process's Host, if it is not there yet."""
        with self._lock:
            host = self._current()
            if name not in self._registered:
                host.set_rulesets({name: copy.deepcopy(definition)})
                self._registered.add(name)

    def run(
        self,
        name: str,
        definition: dict[str, Any],
        first: list[dict[str, Any]],
        then: Callable[[list[Hit]], list[dict[str, Any]]],
    ) -> tuple[list[Hit], list[Hit]]:
        """Assert `first`, collect; assert `then(first hits)`, collect; retract everything."""
        with self._lock:
            host = self._current()
            if name not in self._registered:
                host.set_rulesets({name: copy.deepcopy(definition)})
                self._registered.add(name)
            asserted: list[dict[str, Any]] = []
            try:
                first_hits = self._assert(host, name, first, asserted)
                second_hits = self._assert(host, name, then(first_hits), asserted)
            finally:
                if asserted:
                    _check(host.retract_facts(name, asserted))
            return first_hits, second_hits

    def _assert(
        self,
        host: _CollectingHost,
        name: str,
        facts: list[dict[str, Any]],
        asserted: list[dict[str, Any]],
    ) -> list[Hit]:
        if not facts:
            return []
        ids = set()
        for fact in facts:
            fact["id"] = f"e{next(self._ids)}"
            fact["sid"] = SID
            ids.add(fact["id"])
            if len(fact) > MAX_FACT_PROPERTIES:  # the engine would match nothing, silently
                raise EngineError(f"a fact of {len(fact)} properties: the engine holds at "
                                  f"most {MAX_FACT_PROPERTIES}")
        host.collected = []
        asserted.extend(facts)
        _check(host.assert_facts(name, facts))
        hits, host.collected = host.collected, []
        if any(fact.get("id") not in ids for _, fact in hits):
            raise EngineError("the engine reported a fact from another evaluation")
        return hits


def _check(state: Any) -> None:
    if isinstance(state, dict) and state.get("exception"):
        raise EngineError(f"rule engine action failed: {state['exception']}")


def probe(
    name: str,
    definition: dict[str, Any],
    first: list[dict[str, Any]],
    then: Callable[[list[Hit]], list[dict[str, Any]]],
) -> str | None:
    """Load a ruleset into a scratch Host and evaluate probe facts; the error text, or None."""
    try:
        scratch = Engine()
        scratch.run(name, definition, first, then)
    except Exception as error:  # the engine reports many failures as bare Exception
        logger.info("ruleset %s refused by the engine: %s", name, error)
        return str(error) or type(error).__name__
    return None


ENGINE = Engine()
