"""An example data pipeline to profile: a small ETL over generated order data.

    extract   -> write a day of generated orders to CSV, read them back lazily
    parse     -> CSV rows to typed Order records (malformed rows rejected)
    validate  -> business rules (known currency, sane quantity and price)
    enrich    -> customer lookups through a slow "service", in a thread pool
    aggregate -> revenue per region and category, with percentiles
    load      -> a JSON report and one CSV per region

Standard library only; the stages are declared with pipegauge.stage when
pipegauge is installed (records in/out, throughput, the bottleneck) and
the script runs unchanged without it. About a second without a profiler:

    python examples/pipeline.py [--rows N] [--workers N] [--out DIR]
    pipegauge run examples/pipeline.py
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

try:
    from pipegauge import stage
except ImportError:  # runs without pipegauge too: stages are then plain functions
    def stage(name):  # type: ignore[no-redef]
        return lambda function: function

REGIONS = ("north", "south", "east", "west", "central")
CATEGORIES = ("books", "garden", "kitchen", "toys", "sports", "music", "tools")
RATES_TO_USD = {"USD": 1.0, "EUR": 1.08, "GBP": 1.27, "JPY": 0.0067, "CHF": 1.13}
TIER_DISCOUNT = {"bronze": 0.0, "silver": 0.03, "gold": 0.07, "platinum": 0.12}
FIELDS = ("order_id", "customer_id", "sku", "category", "quantity", "unit_price",
          "currency", "order_date", "region")


class ValidationError(ValueError):
    """A row that cannot enter the pipeline."""


@dataclass(frozen=True)
class Order:
    order_id: int
    customer_id: int
    sku: str
    category: str
    quantity: int
    unit_price: float
    currency: str
    order_date: date
    region: str

    @property
    def amount(self) -> float:
        return self.quantity * self.unit_price


@dataclass(frozen=True)
class EnrichedOrder:
    order: Order
    tier: str
    country: str
    amount_usd: float


# -- extract ---------------------------------------------------------------

def generate_rows(count: int, seed: int) -> Iterator[dict[str, str]]:
    """Orders as a source system would export them, with ~2% bad rows."""
    rng = random.Random(seed)
    start = date(2024, 1, 1)
    for order_id in range(1, count + 1):
        row = {
            "order_id": str(order_id),
            "customer_id": str(rng.randint(1, 2_000)),
            "sku": f"SKU-{rng.randint(1, 500):04d}",
            "category": rng.choice(CATEGORIES),
            "quantity": str(rng.randint(1, 12)),
            "unit_price": f"{rng.lognormvariate(3.0, 0.8):.2f}",
            "currency": rng.choices(list(RATES_TO_USD), weights=(60, 20, 10, 5, 5))[0],
            "order_date": (start + timedelta(days=rng.randint(0, 364))).isoformat(),
            "region": rng.choice(REGIONS),
        }
        damage = rng.random()
        if damage < 0.005:
            row["quantity"] = ""
        elif damage < 0.010:
            row["unit_price"] = "-" + row["unit_price"]
        elif damage < 0.015:
            row["currency"] = "XXX"
        elif damage < 0.020:
            row["order_date"] = "2024-13-45"
        yield row


def write_source(path: Path, rows: Iterable[dict[str, str]]) -> int:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS)
        writer.writeheader()
        written = 0
        for row in rows:
            writer.writerow(row)
            written += 1
    return written


@stage("extract")
def extract(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        yield from csv.DictReader(handle)


# -- parse and validate ----------------------------------------------------

def parse_row(row: dict[str, str]) -> Order:
    try:
        return Order(
            order_id=int(row["order_id"]),
            customer_id=int(row["customer_id"]),
            sku=row["sku"],
            category=row["category"],
            quantity=int(row["quantity"]),
            unit_price=float(row["unit_price"]),
            currency=row["currency"],
            order_date=date.fromisoformat(row["order_date"]),
            region=row["region"],
        )
    except (KeyError, ValueError) as exc:
        raise ValidationError(f"row {row.get('order_id')}: {exc}") from exc


def check_order(order: Order) -> Order:
    if order.currency not in RATES_TO_USD:
        raise ValidationError(f"order {order.order_id}: unknown currency {order.currency}")
    if not 0 < order.quantity <= 100:
        raise ValidationError(f"order {order.order_id}: quantity {order.quantity}")
    if order.unit_price <= 0:
        raise ValidationError(f"order {order.order_id}: price {order.unit_price}")
    return order


class RejectCounter:
    """Counts rejected rows per reason, keeping a few examples."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = defaultdict(int)
        self.examples: list[str] = []

    def add(self, stage: str, error: ValidationError) -> None:
        self.counts[stage] += 1
        if len(self.examples) < 5:
            self.examples.append(str(error))


@stage("parse")
def parse(rows: Iterable[dict[str, str]], rejects: RejectCounter) -> Iterator[Order]:
    for row in rows:
        try:
            yield parse_row(row)
        except ValidationError as error:
            rejects.add("parse", error)


@stage("validate")
def validate(orders: Iterable[Order], rejects: RejectCounter) -> Iterator[Order]:
    for order in orders:
        try:
            yield check_order(order)
        except ValidationError as error:
            rejects.add("validate", error)


# -- enrich ----------------------------------------------------------------

class CustomerService:
    """Stands in for a remote customer API: each batch call costs a round trip."""

    ROUND_TRIP_S = 0.004

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self.calls = 0

    def lookup(self, customer_ids: Iterable[int]) -> dict[int, dict[str, str]]:
        self.calls += 1
        time.sleep(self.ROUND_TRIP_S)
        return {customer_id: self._record(customer_id) for customer_id in set(customer_ids)}

    def _record(self, customer_id: int) -> dict[str, str]:
        rng = random.Random(customer_id * 7919 + self._seed)
        return {
            "tier": rng.choices(list(TIER_DISCOUNT), weights=(50, 30, 15, 5))[0],
            "country": rng.choice(("US", "DE", "GB", "JP", "CH", "FR")),
        }


def batched(items: Iterable[Order], size: int) -> Iterator[list[Order]]:
    batch: list[Order] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def to_usd(amount: float, currency: str) -> float:
    return round(amount * RATES_TO_USD[currency], 2)


def enrich_batch(batch: list[Order], service: CustomerService) -> list[EnrichedOrder]:
    customers = service.lookup(order.customer_id for order in batch)
    enriched = []
    for order in batch:
        customer = customers[order.customer_id]
        discount = TIER_DISCOUNT[customer["tier"]]
        amount = to_usd(order.amount, order.currency) * (1.0 - discount)
        enriched.append(EnrichedOrder(order, customer["tier"], customer["country"], amount))
    return enriched


@stage("enrich")
def enrich(batches: Iterable[list[Order]], service: CustomerService,
           workers: int) -> Iterator[EnrichedOrder]:
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="enrich") as pool:
        for enriched in pool.map(lambda batch: enrich_batch(batch, service), batches):
            yield from enriched


# -- aggregate and load ----------------------------------------------------

@dataclass
class Bucket:
    orders: int = 0
    revenue_usd: float = 0.0
    amounts: list[float] = field(default_factory=list)

    def add(self, amount: float) -> None:
        self.orders += 1
        self.revenue_usd += amount
        self.amounts.append(amount)

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.amounts)
        cuts = statistics.quantiles(ordered, n=20) if len(ordered) >= 2 else [0.0] * 19
        return {
            "orders": self.orders,
            "revenue_usd": round(self.revenue_usd, 2),
            "median_usd": round(statistics.median(ordered), 2) if ordered else 0.0,
            "p95_usd": round(cuts[18], 2),
        }


class Aggregator:
    def __init__(self) -> None:
        self.by_key: dict[tuple[str, str], Bucket] = defaultdict(Bucket)
        self.by_tier: dict[str, Bucket] = defaultdict(Bucket)

    def add(self, record: EnrichedOrder) -> None:
        order = record.order
        self.by_key[(order.region, order.category)].add(record.amount_usd)
        self.by_tier[record.tier].add(record.amount_usd)

    def report(self) -> dict[str, object]:
        return {
            "by_region_category": {f"{region}/{category}": bucket.summary()
                                   for (region, category), bucket in sorted(self.by_key.items())},
            "by_tier": {tier: bucket.summary() for tier, bucket in sorted(self.by_tier.items())},
        }


def aggregate(records: Iterable[EnrichedOrder]) -> Aggregator:
    aggregator = Aggregator()
    for record in records:
        aggregator.add(record)
    return aggregator


def load(aggregator: Aggregator, rejects: RejectCounter, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    report = aggregator.report()
    report["rejected"] = dict(rejects.counts)
    report["rejected_examples"] = rejects.examples
    written = [out_dir / "report.json"]
    written[0].write_text(json.dumps(report, indent=2, sort_keys=True), encoding="utf-8")
    per_region: dict[str, list[tuple[str, dict[str, float]]]] = defaultdict(list)
    for (region, category), bucket in sorted(aggregator.by_key.items()):
        per_region[region].append((category, bucket.summary()))
    for region, rows in per_region.items():
        path = out_dir / f"region-{region}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(("category", "orders", "revenue_usd", "median_usd", "p95_usd"))
            for category, summary in rows:
                writer.writerow((category, summary["orders"], summary["revenue_usd"],
                                 summary["median_usd"], summary["p95_usd"]))
        written.append(path)
    return written


# -- main --------------------------------------------------------------------

def run_pipeline(rows: int, workers: int, batch_size: int, out_dir: Path, seed: int) -> dict[str, object]:
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="pipeline-") as staging:
        source = Path(staging) / "orders.csv"
        generated = write_source(source, generate_rows(rows, seed))
        rejects = RejectCounter()
        service = CustomerService(seed)
        orders = validate(parse(extract(source), rejects), rejects)
        records = enrich(batched(orders, batch_size), service, workers)
        aggregator = aggregate(records)
        outputs = load(aggregator, rejects, out_dir)
    return {
        "rows": generated,
        "accepted": sum(bucket.orders for bucket in aggregator.by_key.values()),
        "rejected": sum(rejects.counts.values()),
        "service_calls": service.calls,
        "outputs": [str(path) for path in outputs],
        "seconds": round(time.perf_counter() - started, 3),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000, help="orders to generate (default 50000)")
    parser.add_argument("--workers", type=int, default=4, help="enrichment threads (default 4)")
    parser.add_argument("--batch-size", type=int, default=250, help="orders per service call")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, default=None,
                        help="output directory (default: a temporary one, removed at the end)")
    args = parser.parse_args(argv)
    if args.out is not None:
        result = run_pipeline(args.rows, args.workers, args.batch_size, args.out, args.seed)
    else:
        with tempfile.TemporaryDirectory(prefix="pipeline-out-") as out_dir:
            result = run_pipeline(args.rows, args.workers, args.batch_size, Path(out_dir), args.seed)
            result["outputs"] = [Path(path).name for path in result["outputs"]]  # type: ignore[union-attr]
    print(f"pipeline: {result['rows']} rows, {result['accepted']} accepted, {result['rejected']} rejected, "
          f"{result['service_calls']} service calls, {len(result['outputs'])} outputs "  # type: ignore[arg-type]
          f"in {result['seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
