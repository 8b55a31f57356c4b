"""Contract of the native module ``pipegauge._core`` (C: src/runtime, src/binding).

Times are nanoseconds (floats) unless said otherwise. Function records are
tuples for speed; ``pipegauge`` wraps them in dataclasses.
"""

from typing import Any, Iterable, Sequence

FORMAT_VERSION: tuple[int, int]
"""(major, minor) of the profile file this build writes."""

class FormatError(ValueError):
    """A profile file is not readable: one line saying why (bad magic,
    unsupported version, truncated, corrupt)."""

class ProfilerBusyError(RuntimeError):
    """Another tool owns the hook pipegauge needs and Python allows no sharing."""

class Profile:
    """A profile held in C: taken from the live tracer or read from a file."""

    @staticmethod
    def read(path: str) -> "Profile":
        """Read a profile file. Raises FormatError or OSError (one line)."""
    def write(self, path: str) -> None:
        """Write atomically (temp file + rename). OSError on failure."""
    def set_meta(self, key: str, value: str) -> None: ...
    @property
    def meta(self) -> dict[str, str]: ...
    @property
    def run(self) -> dict[str, float]:
        """ns_per_unit, event_cost_ns, events, start_epoch_ns, duration_ns,
        profiler_memory, threads, lost_events, unmatched_events, and
        overhead_ns (events x event_cost_ns: the estimated profiler cost);
        when recorded (live runs): cpu_user_ns, cpu_sys_ns, cpu_ns (process
        CPU between start and stop) and peak_rss (bytes, the process's
        high-water mark)."""
    @property
    def function_count(self) -> int: ...
    @property
    def node_count(self) -> int: ...
    def functions(self, correct: bool = True) -> list[tuple]:
        """One tuple per function, index order:
        (name, file, line, kind, calls, primitive_calls, exc_exits,
         exclusive_ns, inclusive_ns, hist_count, min_ns, mean_ns, p50_ns,
         p95_ns, p99_ns, max_ns).
        kind: 0 = Python code, 1 = builtin/C function (file "~", line 0).
        name: qualified name (plain co_name on 3.10) or cProfile's builtin
        label such as "<built-in method builtins.len>" or
        "<method 'append' of 'list' objects>".
        correct=True subtracts the calibrated profiler overhead."""
    def nodes(self, correct: bool = True) -> list[tuple]:
        """Call tree, index order, node 0 is the root (parent -1, func -1):
        (parent, func, calls, exc_exits, inclusive_ns, exclusive_ns, recursive)."""
    def edges(self, correct: bool = True) -> list[tuple]:
        """Caller/callee pairs: (caller, callee, calls, primitive_calls,
        exclusive_ns, inclusive_ns); inclusive counts non-recursive calls."""
    def histogram(self, func: int) -> dict:
        """{"unit_ns", "count", "sum_ns", "min_ns", "max_ns",
        "buckets": [(low_ns, high_ns, count), ...]} for non-empty buckets."""
    def quantiles(self, func: int, qs: Sequence[float]) -> list[float]: ...
    def merge(self, other: "Profile") -> None:
        """Add other into this profile (C engine, pg_merge): functions by
        identity, call-tree nodes by path, histograms bucket-wise, run
        counters added and the run's span widened, other's process table
        appended; other's times converted to this profile's unit."""
    def add_process(self, source: "Profile", *, pid: int, parent_pid: int, role: str,
                    state: int) -> None:
        """Append a process table entry whose numbers (start, duration,
        events, calls, busy time) are read from source. state: 0 finished,
        1 lost, 2 still running."""
    @property
    def processes(self) -> list[dict]:
        """The process table: {"pid", "parent_pid", "role", "state",
        "start_epoch_ns", "duration_ns", "events", "calls", "busy_ns"} per
        process; [] for a single-process run."""
    def stages(self) -> list[dict[str, Any]]:
        """Pipeline stages in declaration order, one dict each: name, auto,
        invocations, records_in, records_out, bytes, exceptions, own_ns,
        upstream_ns, nested_ns, suspended_ns, wall_ns, cpu_ns, cpu_measured
        (activations whose CPU clock was read), io_read_bytes,
        io_write_bytes, io_measured (invocations whose /proc I/O was read),
        memory_bytes (heap bytes allocated in the stage's own activations),
        memory_measured (activations whose allocations were counted; 0 when
        memory was off), latency {count, min_ns, mean_ns, p50_ns, p95_ns, p99_ns, max_ns}
        (per record, own time). Not overhead-corrected."""
    def spans(self) -> list[tuple[int, int, float, float, float, int]]:
        """Stage invocation spans: (stage index, OS thread id, start_ns,
        end_ns, busy_ns, invocations), start/end since the run started;
        invocations > 1 where the bounded log coalesced neighbours."""
    @property
    def stage_log(self) -> dict[str, int]:
        """coalesced, spans_dropped, lost, span_limit of the span log."""
    def latency_samples(self, correct: bool = True) -> list[bytes]:
        """Per function (index order), its per-call latency histogram
        re-bucketed in nanoseconds and encoded compactly (pg_stats.h): the
        form the history store keeps and rank_test/sample_quantiles read.
        correct=True scales durations by the overhead correction."""
    def timeline(self) -> dict | None:
        """The resource timeline as columns, or None when the run had none:
        {"interval_ns", "stride", "t_ns", "dt_ns", "rss_bytes", "threads",
         "cpu_user_ns", "cpu_system_ns", "read_chars", "write_chars",
         "read_bytes", "write_bytes": list[int] (one entry per sample),
         "gpus": [{"name", "memory_total", "busy_ns", "memory_bytes",
                   "process_bytes"}]}.
        Sample i covers [t_ns[i], t_ns[i] + dt_ns[i]) ns after the start;
        levels (rss, threads, GPU memory) are maxima over it, amounts (CPU,
        I/O, GPU busy) sums. See docs/json-schema.md."""
    def stage_latency_samples(self) -> list[bytes]:
        """Per stage (stages() order), its per-record own-time latency
        histogram in the encoded ns form of latency_samples (history)."""
    def metrics(self) -> list[tuple[str, str, str]]:
        """Per-node resource metrics, index order: (name, unit, merge).
        name: dotted, e.g. "mem.alloc_bytes"; unit: "bytes", "count", "ns"
        or "units" (profile time units); merge: "sum" (values add up) or
        "max" (the larger wins, e.g. peaks)."""
    def function_metric(self, metric: int) -> list[tuple[int, int]]:
        """(exclusive, inclusive) of metric per function, index order.
        exclusive combines the function's nodes' own values; inclusive
        their subtrees, skipping recursive nodes (as for time). Raises
        IndexError for a bad metric index."""
    def node_metric(self, metric: int) -> list[tuple[int, int]]:
        """(exclusive, inclusive) of metric per node, index order:
        the node's own value and its subtree's combined value."""
    def thread_io(self) -> list[dict[str, Any]]:
        """I/O totals over the run (the ITHR section): the process row
        first (flags bit 0, tid 0), then one per thread. Keys: tid, name,
        flags, rchar, wchar, syscr, syscw, read_bytes, write_bytes,
        hooked_{read,write,recv,send}_{bytes,ops}. Empty with io=False."""
    def line_heat(self) -> list[tuple[int, int, int, int, int]]:
        """Line heat (the LINE section) as (func_index, line, self_ns,
        total_ns, hits), in recording order: total is the time the line
        was current in the function's frame (callees included), self the
        part in the frame itself; hits are line executions (deterministic
        --lines) or samples (sampling mode). Empty without line heat."""

def start(
    *,
    builtins: bool = True,
    exact_builtins: bool = False,
    collapse_prefixes: Sequence[str] = (),
    module_roots: Sequence[str] = (),
    ignore_globs: Sequence[str] = (),
    memory: bool = True,
    cpu: bool = True,
    timeline_hz: float = 0.0,
    gpu: bool = True,
    io: bool = True,
    lines: bool = False,
    lines_for: Sequence[str] = (),
    lines_threshold: float = 0.0,
    sample_hz: float = 0.0,
    sample_clock: str = "wall",
    line_sample_hz: float = 0.0,
) -> None:
    """Start tracing every thread (present and future).

    line_sample_hz > 0 (deterministic mode): the stack sampler runs beside
    the tracer at that rate on wall time and charges only the line table
    (meta lines.mode = "sample"): line heat where LINE events are not to be
    had cheaply (3.10/3.11).

    lines (3.12+): record line heat with sys.monitoring LINE events enabled
    only on chosen code objects: those whose qualified name matches a
    lines_for pattern (substring or fnmatch glob) from their first call, and,
    when lines_threshold > 0, those whose own time exceeds that share of the
    run so far (checked every ~100 ms) from then on (metadata "lines.since":
    "func:ns,..." says when each started). On 3.10/3.11 no line events are
    available: the functions are counted in metadata "lines.failures".

    memory: wrap the Python allocators (and numpy's data handler, when numpy
    is imported; see _hook_numpy) and record the mem.* metrics.
    cpu: arm a CPU-time timer per traced thread and record cpu.ns (skipped,
    with metadata cpu_unavailable, when no real-time signal is free).

    collapse_prefixes: code whose file starts with one of these (pass
    "<frozen" to include frozen stdlib modules) is folded into its caller; on 3.12+ it stops
    costing anything after its first call.
    module_roots: sys.path-like directories used to turn a file into a dotted
    module name for ignore_globs (fnmatch patterns on module names or files).
    exact_builtins: on 3.12+, keep watching call sites whose callee was a
    Python function for builtins (slower). By default such sites stop
    reporting CALL events, so a polymorphic site that calls a builtin later
    has that builtin's time in its caller's own time.
    timeline_hz: sample the resource timeline this many times a second from a
    C thread that never takes the GIL (0 = no timeline); gpu: also read
    NVIDIA GPUs through NVML (dlopen of libnvidia-ml.so.1, or the file named
    by PIPEGAUGE_NVML_LIBRARY). Without NVML the profile's meta "gpu" says
    why ("none (...)"); with it GPU busy time and memory are charged to the
    nodes running in each interval (metrics gpu.busy_ns, gpu.mem_bytes).
    io: charge bytes, calls and time of read/write/send/recv-family C
    library calls to the calling function (GOT redirection, undone at
    stop), and record per-thread kernel I/O totals; see io_status().
    Raises ProfilerBusyError when no hook is free, RuntimeError when already
    running."""

def stop() -> Profile:
    """Stop tracing and return the profile (owned by the caller)."""

def snapshot() -> Profile:
    """A copy of the live profile without stopping (for periodic flushes)."""

def export(profile: Profile, format: str, path: str, *, correct: bool = True) -> None:
    """Write profile as format ("folded", "speedscope", "pprof", "chrome")
    to path, streaming from C (atomic: temp file + rename). ValueError for an
    unknown format, OSError when the file cannot be written."""

def prune(profile: Profile, *, min_fraction: float = 0.0, max_nodes: int = 0) -> Profile:
    """A copy in which call-tree nodes whose inclusive time is below
    min_fraction of the total (and, when max_nodes > 0, the smallest beyond
    max_nodes) are merged into one "[other]" child per parent; totals are
    kept exactly."""

def fit(
    sizes: Sequence[float],
    values: Sequence[float],
    target: float,
    *,
    floor: float = 0.0,
    min_noise: float = 0.0,
    bootstrap: int = 200,
    seed: int = 0,
    level: float = 0.9,
    location: str = "median",
) -> dict:
    """Fit one series (values[i] measured at sizes[i]; repeats share a size)
    against O(1), O(log n), O(n), O(n log n), O(n^2), O(n^3) (each a + b f(n),
    a, b >= 0) and the power law a n^b, choose by leave-one-size-out
    cross-validation with a preference for the simpler class, and forecast
    at target with a seeded bootstrap prediction interval (engine:
    pg_fit.h). Returns {"class": "O(n log n)" (or "none" with one size),
    "class_index", "confidence" (share of bootstrap replicates choosing the
    class), "forecast", "low", "high", "noise" (RMS log noise), "sizes"
    (distinct), "models": [{"class", "a", "b", "cv_error" (None when not
    computed)}, ...] in class order}. floor: the values' absolute noise
    floor; min_noise: log sd every forecast carries at least (how well a
    value reproduces between processes); location: "median" or "minimum"
    of each size's repeats (the minimum for wall times: descheduling only
    adds time). ValueError for bad input (sizes < 1, negative or non-finite
    values, more than 64 sizes or 4096 points)."""

class StageIterator:
    """StageIterator(stage, iterable, *, proxy=False): iterates iterable as
    an invocation of stage (each item a record out; time inside its
    __next__ is the stage's, and the consumer's upstream wait). proxy=True
    makes a counting proxy instead: each item is a record in of the stage
    pulling from it, its time stays the puller's own. send/throw/close are
    forwarded; other attributes come from the wrapped iterator."""
    def __init__(self, stage: int, iterable: Iterable[Any], *, proxy: bool = False) -> None: ...
    def __iter__(self) -> StageIterator: ...
    def __next__(self) -> Any: ...
    def send(self, value: Any) -> Any: ...
    def throw(self, *args: Any) -> Any: ...
    def close(self) -> None: ...

class StageAwaitable:
    """StageAwaitable(stage, coroutine, records_in=-1): awaiting it runs the
    coroutine as one invocation of stage, each step timed; the time between
    steps is suspended time. Await it once."""
    def __init__(self, stage: int, coroutine: Any, records_in: int = -1) -> None: ...
    def __await__(self) -> Any: ...

class StageAsyncGen:
    """StageAsyncGen(stage, agen): an async iterator over agen counted as
    one invocation of stage (each item a record out)."""
    def __init__(self, stage: int, agen: Any) -> None: ...
    def __aiter__(self) -> StageAsyncGen: ...
    def __anext__(self) -> Any: ...
    def asend(self, value: Any) -> Any: ...
    def athrow(self, *args: Any) -> Any: ...
    def aclose(self) -> Any: ...

def stage_intern(name: str) -> int:
    """Index of the stage named name (registered for the process's life).
    ValueError for an empty name, a NUL or more than 4096 bytes."""
def stage_call(stage: int, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any] | None) -> Any:
    """func(*args, **kwargs) as one invocation of stage: records in = len()
    of args[0] when sized (else records pulled from stage iterators), out =
    len() of the result when sized; explicit counts (stage_add) win. Reads
    the thread CPU clock and, at most once per 10 ms per thread, /proc I/O."""
def stage_enter(stage: int) -> None:
    """A with-block of stage begins on this thread."""
def stage_exit(stage: int, failed: bool) -> None:
    """This thread's innermost with-block of stage ends."""
def stage_add(stage: int, records_in: int, records_out: int, bytes: int) -> None:
    """Explicit counts for this thread's innermost activation of stage
    (any stage when stage is -1; RuntimeError when none is running)."""
def stage_reset() -> None:
    """Zero the live stage counters and spans (a run start does it too)."""
def stage_snapshot() -> Profile:
    """A Profile holding only the live stage table (no call tree)."""
def stage_options(*, cpu: bool = ..., io: bool = ...) -> None:
    """Turn the CPU-clock and /proc I/O reads of calls and blocks on or off."""
def rank_test(base: Sequence[bytes], current: Sequence[bytes],
              base_speeds: Sequence[float] | None = None,
              current_speeds: Sequence[float] | None = None) -> dict[str, float]:
    """Mann-Whitney U test of the pooled base samples against the pooled
    current ones (ties = same ns bucket, mid-ranks, tie-corrected normal
    approximation with continuity correction): {"n_base", "n_current", "u",
    "z" (> 0: current tends to be slower), "p_value" (two-sided), "effect"
    (P(current > base) + P(tie)/2; 0.5 = no difference)}. Speeds, one per
    sample: its observations are divided by it first (re-bucketed at the
    bucket midpoint), so a run the machine slowed as a whole counts at its
    typical speed. ValueError for a corrupt sample or a speed that is not a
    positive finite number."""

def sample_quantiles(samples: Sequence[bytes], qs: Sequence[float]) -> list[float]:
    """Quantiles (ns, bucket midpoints) of the pooled samples; 0 when empty."""

def merge_samples(samples: Sequence[bytes]) -> bytes:
    """One encoded sample holding every observation of samples."""

def bootstrap_ratio(base: Sequence[float], current: Sequence[float], *, center: str = "mean",
                    resamples: int = 2000, confidence: float = 0.95,
                    seed: int = 0) -> tuple[float, float, float]:
    """(center(current)/center(base), low, high): percentile bootstrap
    interval, each side resampled with replacement, reproducible for a seed;
    center is "mean" or "median". ValueError for an empty side, a base
    center that is not > 0, or an unknown center."""

def bh_adjust(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values, same order. ValueError outside [0, 1]."""

_ACC_SLOTS: dict[str, int]
"""Frame accumulator slot of each additive metric (src/runtime/pg_tracer.h)."""

def _hook_numpy() -> bool:
    """Attribute numpy array buffers (NEP 49 handler) from now on; False
    when not profiling with memory, numpy is not imported or has no handler
    API."""

def _acc_enable(slots: int) -> None:
    """Test hook: record the metrics of slots (a bit mask) this session."""

def _acc_add(slot: int, value: int) -> None:
    """Test hook: add value to slot of the calling thread's current frame,
    as a GIL-less hook does (charged to the frame's node when it returns)."""

def active() -> bool: ...
def event_count() -> int:
    """Tracer events handled so far in the running session (0 when not
    running); an entry and an exit per call."""

def io_status() -> str:
    """I/O attribution of the current or last session: 'on', 'off' (io=False)
    or 'unavailable (why)' (the platform has no GOT redirection)."""

def thread_io() -> dict[str, int]:
    """The calling thread's kernel I/O counters now (rchar, wchar, syscr,
    syscw, read_bytes, write_bytes), for stage boundaries. OSError when
    /proc cannot be read."""

def _io_state() -> dict[str, int]:
    """Diagnostics: the GOT redirection now: installed (0/1), objects
    scanned, slots redirected, foreign slots left alone, failures, rescans
    (after dlopen)."""

def backend() -> str:
    """'sys.monitoring (tool id N)' or 'PyEval_SetProfile'."""
