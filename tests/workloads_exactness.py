"""Small deterministic workloads for tests/test_exactness.py.

Every workload makes the same calls on every run (no randomness, no caches
that change between runs, no lazy imports), so three separate runs - under
cProfile, under a pure-Python setprofile oracle and under pipegauge - can be
compared call for call. Functions that must not be confused with one another
never share a (first line, name) pair.
"""

from __future__ import annotations

import asyncio
import functools
import math
import signal
import sys
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable, Iterator, Optional

# --- generators --------------------------------------------------------------


def numbers(count: int) -> Iterator[int]:
    for i in range(count):
        yield i


def squares(values: Iterable[int]) -> Iterator[int]:
    for value in values:
        yield value * value


def odd_only(values: Iterable[int]) -> Iterator[int]:
    for value in values:
        if value % 2:
            yield value


Tree = Optional[tuple]


def build_tree(low: int, high: int) -> Tree:
    """A balanced binary tree of (left, value, right) tuples; recursive."""
    if low > high:
        return None
    mid = (low + high) // 2
    return (build_tree(low, mid - 1), mid, build_tree(mid + 1, high))


def walk(tree: Tree) -> Iterator[int]:
    """In-order traversal: a recursive generator that delegates with yield from."""
    if tree is None:
        return
    left, value, right = tree
    yield from walk(left)
    yield value
    yield from walk(right)


def running_total() -> Iterator[int]:
    """A coroutine-style generator driven by send()."""
    total = 0
    while True:
        received = yield total
        total += received


def guarded_source(count: int) -> Iterator[int]:
    """A generator that is closed early: close() throws GeneratorExit into it."""
    try:
        for i in range(count):
            yield i
    finally:
        pass


def resilient() -> Iterator[int]:
    """Survives exceptions thrown into it: throw() resumes it, and it yields again."""
    value = 0
    while True:
        try:
            value = yield value
        except ValueError:
            value = -1


def abandoned(count: int) -> Iterator[int]:
    for i in range(count):
        yield i


def generators() -> int:
    total = sum(odd_only(squares(numbers(400))))
    total += sum(walk(build_tree(0, 126)))
    total += sum(x for x in numbers(150) if x % 3 == 0)
    accumulator = running_total()
    next(accumulator)
    for i in range(60):
        total += accumulator.send(i)
    accumulator.close()
    early = guarded_source(100)
    total += next(early) + next(early)
    early.close()
    survivor = resilient()
    next(survivor)
    for i in range(20):
        total += survivor.send(i) + survivor.throw(ValueError)
    survivor.close()
    total += next(numbers(0), 7)  # an exhausted generator and next()'s default
    return total


def generator_finalization() -> int:
    total = 0
    for count in range(1, 6):
        dropped = abandoned(count)
        total += next(dropped)
        del dropped  # finalised by its reference count: closed while suspended
    return total


# --- recursion and mutual recursion -----------------------------------------


def fib(n: int) -> int:
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)


def is_even(n: int) -> bool:
    return True if n == 0 else is_odd(n - 1)


def is_odd(n: int) -> bool:
    return False if n == 0 else is_even(n - 1)


def hanoi(n: int, source: str, target: str, spare: str, moves: list) -> None:
    if n == 0:
        return
    hanoi(n - 1, source, spare, target, moves)
    moves.append((source, target))
    hanoi(n - 1, spare, target, source, moves)


def deep(n: int) -> int:
    return 0 if n == 0 else 1 + deep(n - 1)


def recursion() -> int:
    total = fib(17) + deep(600)
    total += sum(1 for i in range(60) if is_even(i))
    moves: list = []
    hanoi(8, "a", "c", "b", moves)
    return total + len(moves)


# --- exceptions raised and caught across frames ------------------------------


class WorkloadError(Exception):
    pass


def raise_deep(depth: int) -> int:
    """Every call of this function exits by an exception."""
    if depth == 0:
        raise WorkloadError("bottom")
    return raise_deep(depth - 1)


def catch_in_middle(depth: int) -> int:
    try:
        return raise_deep(depth)
    except WorkloadError:
        return -1


def translate_error(i: int) -> None:
    """Catches one exception and raises another: exits by exception."""
    try:
        raise_deep(2)
    except WorkloadError as exc:
        raise KeyError(i) from exc


def cleanup_then_propagate(i: int) -> None:
    try:
        translate_error(i)
    finally:
        i += 1


def failing_generator(count: int) -> Iterator[int]:
    for i in range(count):
        if i == count - 1:
            raise WorkloadError("generator failed")
        yield i


def exceptions() -> int:
    total = 0
    for i in range(120):
        total += catch_in_middle(i % 5)
        try:
            cleanup_then_propagate(i)
        except KeyError:
            total += 1
        try:
            divmod(i, 0)  # a builtin that raises
        except ZeroDivisionError:
            total += 1
    try:
        for value in failing_generator(30):
            total += value
    except WorkloadError:
        total += 1
    return total


# Calls of each function that exit by exception in one run of exceptions().
EXCEPTION_EXITS = {
    "<built-in method builtins.divmod>": 120,
    "raise_deep": sum((i % 5) + 1 for i in range(120)) + 120 * 3,
    "catch_in_middle": 0,
    "translate_error": 120,
    "cleanup_then_propagate": 120,
    "failing_generator": 1,
}

# --- class-heavy code -------------------------------------------------------


class Vector:
    __slots__ = ("x", "y")

    def __init__(self, x: float, y: float) -> None:
        self.x = x
        self.y = y

    @classmethod
    def origin(cls) -> "Vector":
        return cls(0, 0)

    @staticmethod
    def dot(a: "Vector", b: "Vector") -> float:
        return a.x * b.x + a.y * b.y

    @property
    def norm_squared(self) -> float:
        return Vector.dot(self, self)

    def __add__(self, other: "Vector") -> "Vector":
        return Vector(self.x + other.x, self.y + other.y)

    def __mul__(self, factor: float) -> "Vector":
        return Vector(self.x * factor, self.y * factor)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Vector) and (self.x, self.y) == (other.x, other.y)

    def __lt__(self, other: "Vector") -> bool:
        return self.norm_squared < other.norm_squared

    def __hash__(self) -> int:
        return hash((self.x, self.y))

    def __len__(self) -> int:
        return 2

    def __iter__(self) -> Iterator[float]:
        yield self.x
        yield self.y

    def __repr__(self) -> str:
        return f"Vector({self.x}, {self.y})"


class LabelledVector(Vector):
    __slots__ = ("label",)

    def __init__(self, x: float, y: float, label: str) -> None:
        super().__init__(x, y)
        self.label = label

    def __repr__(self) -> str:
        return f"{self.label}={super().__repr__()}"


class Thermostat:
    def __init__(self) -> None:
        self._celsius = 20.0

    @property
    def celsius(self) -> float:
        return self._celsius

    @celsius.setter
    def celsius(self, value: float) -> None:
        self._celsius = value

    def __getitem__(self, key: str) -> float:
        return self._celsius if key == "c" else self._celsius * 9 / 5 + 32

    def __contains__(self, key: str) -> bool:
        return key in ("c", "f")


def classes() -> int:
    acc = Vector.origin()
    points = []
    for i in range(150):
        point = Vector(i % 11, i % 7)
        acc = acc + point * 2
        points.append(point)
        if point == acc:
            acc = acc * 1
        _ = Vector.dot(acc, point) + point.norm_squared + len(point)
    labelled = [LabelledVector(i, -i, f"p{i}") for i in range(40)]
    text = "".join(repr(v) for v in labelled[:10])
    unique = {p for p in points}  # __hash__, and __eq__ on every collision
    ordered = sorted(points[:60])  # __lt__ from C
    coords = [c for p in points[:30] for c in p]  # __iter__
    thermostat = Thermostat()
    for i in range(50):
        thermostat.celsius = thermostat.celsius + 0.5
        if "f" in thermostat:
            _ = thermostat["f"]
    return len(text) + len(unique) + len(ordered) + len(coords)


# --- callables called from C, and other call shapes -------------------------


class Multiplier:
    def __init__(self, factor: int) -> None:
        self.factor = factor

    def __call__(self, value: int) -> int:
        return value * self.factor


class Config:
    """__getattr__ for missing attributes, __setattr__ for every assignment."""

    def __init__(self) -> None:
        object.__setattr__(self, "data", {})

    def __getattr__(self, name: str) -> int:
        return self.data.get(name, 0)

    def __setattr__(self, name: str, value: int) -> None:
        self.data[name] = value


class Celsius:
    """A data descriptor."""

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        return self if obj is None else obj.raw

    def __set__(self, obj: Any, value: float) -> None:
        obj.raw = value


class Room:
    temperature = Celsius()

    def __init__(self) -> None:
        self.temperature = 20.0


class Counted(type):
    """A metaclass whose __call__ runs on every instantiation."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return super().__call__(*args, **kwargs)


class Widget(metaclass=Counted):
    def __init__(self, size: int) -> None:
        self.size = size


def logged(func: Callable) -> Callable:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return func(*args, **kwargs)

    return wrapper


@logged
def add(a: int, b: int) -> int:
    return a + b


def negate(value: int) -> int:
    return -value


class Noisy:
    """Its __del__ runs Python code from inside the C call that frees it."""

    finalised = 0

    def __del__(self) -> None:
        Noisy.finalised += 1


class Suppressor:
    def __enter__(self) -> "Suppressor":
        return self

    def __exit__(self, kind: Any, value: Any, traceback: Any) -> bool:
        return kind is KeyError


def call_shapes() -> int:
    total = sum(map(Multiplier(3), range(50)))  # __call__ from C
    total += sum(map(add, range(20), range(20)))  # a decorated function from C
    config = Config()
    config.size = 5
    total += config.size + config.missing
    room = Room()
    for _ in range(30):
        room.temperature = room.temperature + 1
    total += sum(Widget(i).size for i in range(20))
    for i in range(20):
        with Suppressor():
            if i % 2:
                raise KeyError(i)
    data = list(range(30))
    total += max(*data) + min(data, key=abs) + sorted(data, key=negate, reverse=True)[0]
    list.append(data, 99)  # method descriptors called unbound
    total += len(str.join(",", ["a", "b"])) + len(dict.fromkeys("abc"))
    total += int.from_bytes(b"\x01\x02", "big")
    positional, keywords = (data,), {"key": negate}
    total += len(*positional) + max(data, **keywords)
    total += functools.partial(add, 1)(2)  # a C callable wrapping a Python one
    total += functools.reduce(add, range(10))
    total += getattr(room, "temperature") > 0
    total += eval("1 + 2")  # code that is not from a file
    doomed = [Noisy() for _ in range(10)]
    doomed.clear()  # ten __del__ calls inside one C call
    return total


# --- interruptions: a signal handler, a stack overflow -----------------------


def on_signal(signum: int, frame: Any) -> None:
    on_signal.received += 1  # type: ignore[attr-defined]


on_signal.received = 0  # type: ignore[attr-defined]


def signals() -> int:
    """A Python signal handler runs between two bytecodes of the interrupted code."""
    previous = signal.signal(signal.SIGUSR1, on_signal)
    try:
        for _ in range(5):
            signal.raise_signal(signal.SIGUSR1)
            fib(3)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    return on_signal.received  # type: ignore[attr-defined]


def overflow(depth: int) -> int:
    return overflow(depth + 1)


def stack_overflow() -> int:
    """Recurses until RecursionError, 300 frames above the current depth."""
    depth = 0
    frame: Any = sys._getframe()
    while frame is not None:
        depth += 1
        frame = frame.f_back
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(depth + 300)
    try:
        return overflow(0)
    except RecursionError:
        return -1
    finally:
        sys.setrecursionlimit(limit)


# --- the shapes of C calls that decide cProfile's label ----------------------


class LoudList(list):
    """Overrides a C method in Python and calls the C one through super()."""

    def append(self, item: Any) -> None:
        super().append(item)


# One call of a C function each, in the shapes that decide cProfile's label.
BUILTIN_LABEL_CASES: dict[str, Callable[[], Any]] = {
    "module function": lambda: len("abc"),
    "module function, other module": lambda: math.sqrt(2.0),
    "bound method": lambda: [].append(1),
    "unbound method descriptor": lambda: list.append([], 1),
    "str method": lambda: ",".join(["a"]),
    "classmethod of a builtin type": lambda: int.from_bytes(b"\x01", "big"),
    "classmethod of dict": lambda: dict.fromkeys("ab"),
    "static __new__": lambda: tuple.__new__(tuple, ()),
    "C method overridden in a subclass": lambda: LoudList().append(1),
}


# --- coroutines -------------------------------------------------------------


async def fetch(i: int) -> int:
    await asyncio.sleep(0)
    return i * 2


async def chain(depth: int) -> int:
    if depth == 0:
        await asyncio.sleep(0)
        return 0
    return 1 + await chain(depth - 1)


async def gather_all(count: int) -> int:
    results = await asyncio.gather(*(fetch(i) for i in range(count)))
    return sum(results) + await chain(10)


def coroutines() -> int:
    return asyncio.run(gather_all(30))


# --- builtins and C methods -------------------------------------------------


def builtins_workload() -> int:
    data: list = []
    for i in range(300):
        data.append(i * 7 % 101)
    total = sum(data) + len(data) + max(data) + min(data)
    by_key = sorted(data, key=lambda v: -v)  # a Python callback called from C
    counts: dict = {}
    for value in data:
        counts[value] = counts.get(value, 0) + 1
    words = ",".join(str(v) for v in data[:40]).split(",")
    total += len("-".join(words)) + len(by_key) + len(counts)
    total += int(math.sqrt(total)) + zlib.crc32(b"pipegauge")
    total += sum(abs(v - 50) for v in data[:20])
    data.sort()
    total += isinstance(data, list) + hasattr(data, "sort")
    return total


# --- one call site, several callees -----------------------------------------


def normalise(text: str) -> str:
    return text.replace("-", " ")


def count_words(text: str) -> int:
    return text.count(" ") + 1


def double(value: int) -> int:
    return value * 2


TEXT_STEPS: tuple[Callable[[Any], Any], ...] = (str.strip, normalise, str.upper, count_words)
NUMBER_STEPS: tuple[Callable[[Any], Any], ...] = (abs, double, hex, len)


def apply_steps(value: Any, steps: Iterable[Callable[[Any], Any]]) -> Any:
    for step in steps:
        value = step(value)  # one call site: Python functions and builtins in turn
    return value


def polymorphic_steps() -> int:
    """A pipeline idiom: a configurable list of steps mixing Python functions
    and builtins, applied at one call site."""
    total = 0
    for i in range(100):
        total += apply_steps(f"  row-{i}-x  ", TEXT_STEPS)
        total += apply_steps(i - 50, NUMBER_STEPS)
    return total


# --- a thread pool ----------------------------------------------------------


def pool_task(i: int) -> int:
    return pool_helper(i) + zlib.crc32(b"%d" % i)


def pool_helper(i: int) -> int:
    return sum(range(i % 40)) + math.factorial(i % 8)


def thread_pool() -> int:
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(pool_task, range(200)))
        futures = [pool.submit(pool_helper, i) for i in range(50)]
        results.extend(f.result() for f in futures)
    return sum(results)


# Builtins that only the workload's own thread-pool functions call, so their
# counts do not depend on how the pool's threads were scheduled.
THREAD_POOL_BUILTINS = (
    "<built-in method zlib.crc32>",
    "<built-in method math.factorial>",
)

# --- timing -----------------------------------------------------------------


def sleeper(times: int, seconds: float) -> None:
    for _ in range(times):
        time.sleep(seconds)


def slow_source(count: int) -> Iterator[int]:
    for i in range(count):
        yield i


def sleepy_consumer(count: int, seconds: float) -> int:
    """Sleeps between next() calls: the generator is suspended meanwhile."""
    total = 0
    for value in slow_source(count):
        time.sleep(seconds)
        total += value
    return total


def fib_driver(n: int) -> int:
    return fib(n) + fib(n - 1)


# --- bounded memory ---------------------------------------------------------


def tiny_leaf(x: int) -> int:
    return x + 1


def tiny_middle(x: int) -> int:
    return tiny_leaf(x) * 2


def tiny_loop(iterations: int) -> int:
    """Two Python calls per iteration: always the same two call paths."""
    total = 0
    for i in range(iterations):
        total += tiny_middle(i)
    return total


ALL_SINGLE_THREADED = {
    "call_shapes": call_shapes,
    "coroutines": coroutines,
    "generators": generators,
    "generator_finalization": generator_finalization,
    "polymorphic_steps": polymorphic_steps,
    "signals": signals,
    "stack_overflow": stack_overflow,
    "recursion": recursion,
    "exceptions": exceptions,
    "classes": classes,
    "builtins": builtins_workload,
}
