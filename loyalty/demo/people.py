"""The members of a demo programme: who they are, where they sit on the value pyramid, and the
path each takes through the year.

Segments, from the top of the pyramid: `top` (a few heavy buyers), `upper`, `regular`,
`occasional` (the large base) and `never` (joined and never bought). Paths: `steady` (buys
all along), `lapsing` (stops buying early enough to be counted lapsed by the end), and
`returning` (lapses, then comes back while the win-back offer is open and presents it).
Shares are exact for the number of members (largest remainder), so a small demo still has a
top; who is in which is drawn from the seed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from loyalty.demo.shop import Item, Shop
from loyalty.demo.yardstick import Yardstick

SEGMENTS = {"top": 0.05, "upper": 0.12, "regular": 0.28, "occasional": 0.40, "never": 0.15}
#: Of the members who buy and joined at the start: the shares who lapse, and who come back.
LAPSING, RETURNING = 0.14, 0.10
#: The members who joined in the programme's first days (the rest join over the year).
FOUNDING_SHARE, FOUNDING_DAYS = 0.4, 14
FIRST_NAMES = ("Li", "Wang", "Zhang", "Liu", "Chen", "Yang", "Zhao", "Huang", "Zhou", "Wu",
               "Xu", "Sun", "Hu", "Zhu", "Gao", "Lin", "He", "Guo", "Ma", "Luo")
GIVEN_NAMES = ("Wei", "Fang", "Na", "Min", "Jing", "Lei", "Qiang", "Yan", "Jun", "Hui",
               "Tao", "Ming", "Xia", "Ping", "Gang", "Hong", "Bo", "Ying", "Hao", "Lan")
REGIONS = ("north", "south", "east", "west", "central")


@dataclass(frozen=True)
class Person:
    """A member of the demo and the part they play."""

    index: int
    member_id: str
    segment: str
    path: str
    enrolled_at: datetime
    name: str
    birth_date: date | None
    gender: str | None
    region: str
    channel: str
    habit: tuple[Item, ...]

    @property
    def buys(self) -> bool:
        return self.segment != "never"


def member_id(index: int) -> str:
    return f"M-{index + 1:06d}"


def shares(count: int, table: dict[str, float]) -> dict[str, int]:
    """`count` split by the shares of `table` (largest remainder); with ten or more, every
    share above zero gets at least one."""
    exact = {name: count * share for name, share in table.items()}
    split = {name: int(value) for name, value in exact.items()}
    left = count - sum(split.values())
    for name in sorted(exact, key=lambda n: (split[n] - exact[n], n))[:left]:
        split[name] += 1
    if count >= 10:
        for name in table:
            if split[name] == 0:
                donor = max(split, key=lambda n: (split[n], n))
                split[donor] -= 1
                split[name] = 1
    return split


def cast(count: int, seed: int, start: datetime, span: timedelta, *, earliest_stop: int,
         shop: Shop, yard: Yardstick, channels: tuple[str, ...]) -> list[Person]:
    """`count` members with their segment, path and enrolment instant. `earliest_stop`: the
    days a lapsing member must stop buying before the end to be counted lapsed and win back."""
    draw = random.Random(f"{seed}:cast")
    segments = [name for name, n in shares(count, SEGMENTS).items() for _ in range(n)]
    draw.shuffle(segments)
    founding = {i for i in range(count) if segments[i] in ("top",)}
    others = [i for i in range(count) if i not in founding]
    founding |= set(draw.sample(others, k=round(len(others) * FOUNDING_SHARE)))
    movable = sorted(i for i in founding if segments[i] in ("upper", "regular", "occasional"))
    buyers = sum(1 for s in segments if s != "never")
    paths = ["steady"] * count
    can_lapse = span.days >= earliest_stop + FOUNDING_DAYS + 20
    if can_lapse and movable:
        returning = max(1, round(buyers * RETURNING))
        lapsing = max(1, round(buyers * LAPSING))
        chosen = draw.sample(movable, k=min(len(movable), lapsing + returning))
        for n, i in enumerate(chosen):
            paths[i] = "returning" if n < returning else "lapsing"
    people = []
    for i in range(count):
        rng = random.Random(f"{seed}:person:{i}")
        if i in founding:
            joined = start + timedelta(days=rng.uniform(0, FOUNDING_DAYS))
        else:
            joined = start + (span - timedelta(days=30)) * rng.random() ** 1.4
        people.append(_person(i, segments[i], paths[i], joined, rng, shop, yard, channels))
    return people


def _person(index: int, segment: str, path: str, joined: datetime, rng: random.Random,
            shop: Shop, yard: Yardstick, channels: tuple[str, ...]) -> Person:
    counted = tuple(i for i in shop.items if yard.counts(i.sku, i.category)) or shop.items
    habit = tuple(sorted({rng.choice(counted), rng.choice(shop.items), rng.choice(shop.items)},
                         key=lambda item: item.sku))
    born = None
    if rng.random() < 0.75:
        born = date(rng.randint(1950, 2004), rng.randint(1, 12), rng.randint(1, 28))
    weights = [len(channels) - n for n in range(len(channels))]
    return Person(
        index=index, member_id=member_id(index), segment=segment, path=path,
        enrolled_at=joined.replace(microsecond=0),
        name=f"{rng.choice(FIRST_NAMES)} {rng.choice(GIVEN_NAMES)}", birth_date=born,
        gender=rng.choice(("f", "m", None)), region=rng.choice(REGIONS),
        channel=rng.choices(channels, weights=weights)[0] if channels else "store",
        habit=habit,
    )
