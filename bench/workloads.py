"""Benchmark workloads for bench/run.py.

Each workload is a function ``run(scale) -> int`` that does a fixed amount of
work proportional to ``scale`` (1.0 = the default size, about a quarter of a
second without a profiler on CPython 3.12 on the reference machine) and
returns a checksum, so that no work can be skipped and a run can be checked
against another. The workloads are plain Python with no imports beyond the
standard library, so every profiler sees the same code.

The five shapes are the ones issue 2 asks for:

- ``call_heavy``: recursion, where almost every bytecode is a call or return.
- ``method_heavy``: small classes with properties, dunder methods,
  classmethods and staticmethods.
- ``pipeline``: a source -> parse -> filter -> enrich -> sink chain of
  generators over about 200k records, the shape of an ETL job.
- ``numeric_loop``: a loop with few calls, where a profiler should cost little.
- ``allocation_heavy``: building dicts, lists, tuples and strings.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator


# --- call_heavy: recursion -------------------------------------------------


def fib(n: int) -> int:
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def call_heavy(scale: float = 1.0) -> int:
    """About 6.9M Python calls per unit of scale (fib(22) makes 57313 calls)."""
    total = 0
    for _ in range(max(1, round(120 * scale))):
        total += fib(22)
    return total


# --- method_heavy: small objects -------------------------------------------


class Money:
    """A value object: arithmetic and comparison dunders, a property."""

    __slots__ = ("cents", "currency")

    def __init__(self, cents: int, currency: str = "EUR") -> None:
        self.cents = cents
        self.currency = currency

    @classmethod
    def zero(cls, currency: str = "EUR") -> "Money":
        return cls(0, currency)

    @staticmethod
    def round_cents(value: float) -> int:
        return int(value + 0.5)

    @property
    def units(self) -> int:
        return self.cents // 100

    def __add__(self, other: "Money") -> "Money":
        return Money(self.cents + other.cents, self.currency)

    def __mul__(self, factor: float) -> "Money":
        return Money(Money.round_cents(self.cents * factor), self.currency)

    def __lt__(self, other: "Money") -> bool:
        return self.cents < other.cents

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Money) and self.cents == other.cents

    def __hash__(self) -> int:
        return hash(self.cents)


class LineItem:
    """An object with a computed property that calls other methods."""

    def __init__(self, sku: int, price: Money, quantity: int) -> None:
        self.sku = sku
        self.price = price
        self.quantity = quantity

    @property
    def total(self) -> Money:
        return self.price * self.quantity

    def discounted(self, rate: float) -> Money:
        return self.total * (1.0 - rate)


class Basket:
    def __init__(self) -> None:
        self.items: list[LineItem] = []

    def add(self, item: LineItem) -> None:
        self.items.append(item)

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[LineItem]:
        return iter(self.items)

    def total(self) -> Money:
        acc = Money.zero()
        for item in self:
            acc = acc + item.discounted(0.1)
        return acc


def method_heavy(scale: float = 1.0) -> int:
    checksum = 0
    for round_ in range(max(1, round(2400 * scale))):
        basket = Basket()
        for sku in range(50):
            basket.add(LineItem(sku, Money(100 + sku * 7 + round_ % 13), 1 + sku % 3))
        total = basket.total()
        biggest = max(item.total for item in basket)
        checksum += total.units + biggest.cents + len(basket)
        if total == biggest:
            checksum += 1
    return checksum


# --- pipeline: a generator chain over records -------------------------------


_REGIONS = ("north", "south", "east", "west", "central")
_RATES = {"north": 1.10, "south": 0.95, "east": 1.00, "west": 1.05, "central": 0.90}


def source(count: int) -> Iterator[str]:
    """Yields CSV-like lines, as if read from a file."""
    for i in range(count):
        yield f"{i},{_REGIONS[i % 5]},{(i * 37) % 1000}.{i % 100:02d},{i % 7}"


def parse(lines: Iterable[str]) -> Iterator[dict]:
    for line in lines:
        ident, region, amount, flag = line.split(",")
        yield {"id": int(ident), "region": region, "amount": float(amount), "flag": int(flag)}


def keep(records: Iterable[dict]) -> Iterator[dict]:
    for record in records:
        if record["flag"] != 3 and record["amount"] >= 50.0:
            yield record


def enrich(records: Iterable[dict]) -> Iterator[dict]:
    for record in records:
        rate = _RATES.get(record["region"], 1.0)
        record["amount_eur"] = round(record["amount"] * rate, 2)
        record["bucket"] = int(record["amount"]) // 100
        yield record


def sink(records: Iterable[dict]) -> dict:
    totals: dict[tuple[str, int], float] = {}
    for record in records:
        key = (record["region"], record["bucket"])
        totals[key] = totals.get(key, 0.0) + record["amount_eur"]
    return totals


def pipeline(scale: float = 1.0) -> int:
    count = max(1000, round(200_000 * scale))
    totals = sink(enrich(keep(parse(source(count)))))
    return int(sum(totals.values())) + len(totals)


# --- numeric_loop: few calls -----------------------------------------------


def _mix(a: int, b: int) -> int:
    return (a * 31 + b) & 0xFFFF


def numeric_loop(scale: float = 1.0) -> int:
    """Arithmetic in a loop; one call per 1000 iterations."""
    acc = 0
    x = 12345
    for i in range(max(1000, round(1_200_000 * scale))):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        acc += (x >> 7) % 97 - (i & 15)
        if i % 1000 == 0:
            acc = _mix(acc, x)
    return acc


# --- allocation_heavy: dicts, lists, strings --------------------------------


def allocation_heavy(scale: float = 1.0) -> int:
    checksum = 0
    for round_ in range(max(1, round(150 * scale))):
        rows = [{"id": i, "name": f"user{i}", "tags": [i % 3, i % 5, i % 7]} for i in range(2000)]
        index = {row["name"]: row for row in rows}
        text = ";".join(f"{row['id']}:{row['name']}" for row in rows if row["id"] % 2)
        pairs = sorted((len(name), name) for name in index)
        grouped: dict[int, list[str]] = {}
        for size, name in pairs:
            grouped.setdefault(size, []).append(name.upper())
        checksum += len(text) + len(grouped) + sum(len(v) for v in grouped.values()) + round_
    return checksum


# --- memory_heavy: allocation and release in few calls ---------------------


def memory_heavy(scale: float = 1.0) -> int:
    """Allocation-dominated: per round ~20k small objects (tuples, dicts,
    strings), lists grown by append (reallocations), 200 buffers of 1-64 KiB;
    a third of the round's objects survive into the next round. Few Python
    calls, so the allocator hooks, not the tracer, decide the overhead."""
    checksum = 0
    survivors: list[object] = []
    for round_ in range(max(1, round(60 * scale))):
        items = [(i, str(i), {"k": i}) for i in range(6000)]
        grown: list[int] = []
        for i in range(6000):
            grown.append(i * round_)
        buffers = [bytes(1024 * (1 + (i * 37 + round_) % 64)) for i in range(200)]
        survivors = items[::3] + [buffers[round_ % 200]]
        checksum += len(items) + len(grown) + sum(len(b) for b in buffers) + len(survivors)
    return checksum


WORKLOADS: dict[str, Callable[[float], int]] = {
    "call_heavy": call_heavy,
    "method_heavy": method_heavy,
    "pipeline": pipeline,
    "numeric_loop": numeric_loop,
    "allocation_heavy": allocation_heavy,
    "memory_heavy": memory_heavy,
}

DESCRIPTIONS: dict[str, str] = {
    "call_heavy": "recursive fib: ~6.9M Python calls",
    "method_heavy": "small classes: properties, dunders, class/static methods",
    "pipeline": "source->parse->filter->enrich->sink generators, 200k records",
    "numeric_loop": "1.2M-iteration arithmetic loop, one call per 1000 iterations",
    "allocation_heavy": "building dicts, lists, tuples and strings",
    "memory_heavy": "allocation-dominated: small objects, appends, 1-64 KiB buffers, few calls",
}
