/* The profile: the data model shared by the tracer, the file writer and
 * reader, and the aggregations.
 *
 * A profile is a function table and a call tree. The call tree is a flat
 * array of nodes; a node is (parent node, function), so a call path is one
 * integer. Node 0 is the root (no function); every other node's parent index
 * is smaller than its own, so a forward scan visits parents before children
 * and a backward scan children before parents.
 *
 * Times (node.inclusive, node.exclusive, histogram values) are in "units";
 * ns_per_unit converts them to nanoseconds. The live tracer records clock
 * ticks and sets ns_per_unit when it calibrates, so no per-event conversion
 * is needed.
 *
 * Invariants:
 * - nodes[0].parent == PG_NONE and nodes[0].func == PG_NONE;
 * - for i > 0: nodes[i].parent < i and nodes[i].func < func_count;
 * - (parent, func) pairs are unique;
 * - funcs are unique by (name, file, line, kind);
 * - exclusive <= inclusive for each node; node inclusive equals its own
 *   exclusive plus its children's inclusive (as recorded, before overhead
 *   correction);
 * - every metric's values array has node_capacity entries, and entries at
 *   node_count and beyond are zero (so appending a node needs no metric
 *   work beyond growing the arrays with the nodes).
 * Not thread-safe: the tracer mutates it with the GIL held.
 */
#ifndef PG_PROFILE_H
#define PG_PROFILE_H

#include <stddef.h>
#include <stdint.h>

#include "pg_hist.h"
#include "pg_lines.h"
#include "pg_stage.h"
#include "pg_strtab.h"
#include "pg_timeline.h"

#define PG_NONE UINT32_MAX
#define PG_ROOT 0u

typedef enum pg_func_kind {
    PG_FUNC_PYTHON = 0,  /* a Python code object */
    PG_FUNC_BUILTIN = 1, /* a C function or method, named as cProfile does */
} pg_func_kind_t;

typedef struct pg_func {
    uint32_t name;  /* strings index: qualified name, or the builtin's label */
    uint32_t file;  /* strings index: source file; "~" for builtins */
    uint32_t line;  /* first line number; 0 for builtins */
    uint32_t kind;  /* pg_func_kind_t */
    pg_hist_t hist; /* per-call inclusive duration, in units; owned */
} pg_func_t;

typedef struct pg_node {
    uint32_t parent;    /* node index; PG_NONE for the root */
    uint32_t func;      /* function index; PG_NONE for the root */
    uint64_t calls;     /* completed calls (each generator resume is one) */
    uint64_t exc_exits; /* calls that ended by an exception */
    uint64_t events;    /* tracer events whose cost landed in this node's
                           exclusive time (for the overhead correction) */
    uint64_t inclusive; /* time from entry to exit, summed over calls, units */
    uint64_t exclusive; /* inclusive minus the children's inclusive, units */
} pg_node_t;

/* How a metric's values combine when nodes are summed up: over a subtree
 * (inclusive), over a function's nodes, when prune folds nodes together.
 * Values are unsigned; a signed quantity is stored as two SUM metrics (for
 * memory: bytes allocated and bytes freed, net = allocated - freed). */
typedef enum pg_metric_merge {
    PG_METRIC_SUM = 0, /* add: bytes, counts, time */
    PG_METRIC_MAX = 1, /* keep the larger: peaks */
} pg_metric_merge_t;

/* Most metrics one profile holds: bounds the reader's memory (each metric
 * is a dense array over the nodes). */
#define PG_METRIC_LIMIT 64

/* A per-node resource metric: one value per call-tree node, charged to the
 * node itself (exclusive). Inclusive values are derived (pg_aggregate.h). */
typedef struct pg_metric {
    uint32_t name;    /* strings index: dotted name, e.g. "mem.alloc_bytes" */
    uint32_t unit;    /* strings index: "bytes", "count", "ns", or "units"
                         (profile time units, see ns_per_unit) */
    uint32_t merge;   /* pg_metric_merge_t */
    uint64_t *values; /* owned; node_capacity entries, indexed by node */
} pg_metric_t;
/* I/O totals of one thread over the session, from the kernel's per-thread
 * counters (/proc/self/task/<tid>/io) and from the I/O hooks: the hooks see
 * only the calls they intercept, the kernel sees everything, so
 * kernel - hooked is I/O that no function was charged for (C extensions
 * calling the system directly, stdio, mmap'd files...). */
#define PG_THREAD_NAME_SIZE 16 /* the kernel's limit, NUL included */
enum {
    PG_THREAD_IO_PROCESS = 1u << 0, /* the whole process (/proc/self/io), tid 0 */
    PG_THREAD_IO_AT_START = 1u << 1, /* alive at start: counters are deltas
                                        since start, else since its creation */
    PG_THREAD_IO_EXITED = 1u << 2,  /* ended before stop: read at its exit */
    PG_THREAD_IO_FLAGS = (1u << 3) - 1,
};
typedef struct pg_thread_io {
    uint64_t tid;                   /* kernel thread id; 0 for the process row */
    char name[PG_THREAD_NAME_SIZE]; /* OS thread name (comm), NUL-terminated */
    uint32_t flags;                 /* PG_THREAD_IO_* */
    uint64_t rchar, wchar;          /* bytes through read-/write-like syscalls */
    uint64_t syscr, syscw;          /* read-/write-like syscalls */
    uint64_t read_bytes, write_bytes; /* bytes from / to storage */
    /* Seen by the I/O hooks: read/write-family calls (read, write, pread,
     * readv...: the ones rchar/wchar count), then send/recv-family calls
     * (which the kernel's counters leave out). */
    uint64_t hooked_read_bytes, hooked_write_bytes;
    uint64_t hooked_read_ops, hooked_write_ops;
    uint64_t hooked_recv_bytes, hooked_send_bytes;
    uint64_t hooked_recv_ops, hooked_send_ops;
} pg_thread_io_t;

typedef struct pg_meta_entry {
    char *key;   /* owned */
    char *value; /* owned */
} pg_meta_entry_t;

/* Numbers about the run and the profiler itself. */
typedef struct pg_run_stats {
    double ns_per_unit;        /* nanoseconds per time unit */
    double event_cost_ns;      /* calibrated cost of one tracer event */
    uint64_t events;           /* tracer events handled, all threads */
    uint64_t start_epoch_ns;   /* wall-clock start, ns since the Unix epoch */
    uint64_t duration_ns;      /* wall time from start to stop */
    uint64_t profiler_memory;  /* heap bytes the profiler held at stop */
    uint64_t threads;          /* threads that produced events */
    uint64_t lost_events;      /* events dropped (out of memory, limits) */
    uint64_t unmatched_events; /* exits with no matching entry (ignored) */
} pg_run_stats_t;

/* One process of a run that spans several (pipegauge run with multiprocessing
 * workers or --subprocess children). A single-process profile has none. */
typedef enum pg_process_state {
    PG_PROCESS_FINISHED = 0, /* wrote its final profile */
    PG_PROCESS_LOST = 1,     /* ended without one (killed): its last flush counts */
    PG_PROCESS_RUNNING = 2,  /* still running when the run ended: its last flush counts */
} pg_process_state_t;
#define PG_PROCESS_STATE_MAX PG_PROCESS_RUNNING

typedef struct pg_process {
    uint32_t pid;
    uint32_t parent_pid;     /* 0 when unknown */
    char *role;              /* owned: "main", "worker (spawn)", "subprocess", ... */
    uint32_t state;          /* pg_process_state_t */
    uint64_t start_epoch_ns; /* wall-clock start of its profiling */
    uint64_t duration_ns;    /* wall time it was profiled */
    uint64_t events;         /* tracer events it handled */
    uint64_t calls;          /* completed calls it recorded */
    uint64_t busy_ns;        /* time inside its profiled code (top-level calls' inclusive) */
} pg_process_t;

typedef struct pg_profile {
    pg_strtab_t strings;    /* interned names and files */
    pg_func_t *funcs;       /* owned, func_count entries */
    uint32_t func_count;
    uint32_t func_capacity;
    pg_node_t *nodes;       /* owned, node_count entries, nodes[0] = root */
    uint32_t node_count;
    uint32_t node_capacity;
    pg_meta_entry_t *meta;  /* owned key/value pairs in insertion order */
    uint32_t meta_count;
    uint32_t meta_capacity;
    pg_run_stats_t run;
    pg_stage_table_t stages; /* pipeline stages and their spans (owned) */
    pg_metric_t *metrics;   /* owned, metric_count entries, unique by name */
    uint32_t metric_count;
    uint32_t metric_capacity;
    pg_timeline_t timeline; /* resource timeline (owned); all-zero = none */
    pg_thread_io_t *thread_io; /* owned, thread_io_count rows (ITHR section) */
    uint32_t thread_io_count;
    uint32_t thread_io_capacity;
    /* Lookup indexes (owned), rebuilt on demand by the reader:
     * open addressing, value = index + 1, 0 = empty slot. */
    uint32_t *node_slots;   /* key (parent, func) */
    uint32_t node_slot_mask;
    uint32_t *func_slots;   /* key (name, file, line, kind) */
    uint32_t func_slot_mask;
    pg_process_t *processes; /* owned, process_count entries; the PRCS section */
    uint32_t process_count;
    uint32_t process_capacity;
    pg_line_table_t lines;  /* line heat per (function, line) (owned); the LINE section */
} pg_profile_t;

/* Make room for one more item in a growable array of count items: when
 * count == *capacity, reallocates to twice the capacity (or initial) and
 * updates *capacity. Returns the array, possibly moved (pointers into the
 * old one are invalid), or NULL on failure, leaving the old array intact
 * and still owned by the caller. */
void *pg_array_reserve(void *items, uint32_t count, uint32_t *capacity, size_t item_size,
                       uint32_t initial);

int pg_profile_init(pg_profile_t *profile);
void pg_profile_release(pg_profile_t *profile);

/* Set (or replace) metadata key to value. Copies both. */
int pg_profile_meta_set(pg_profile_t *profile, const char *key, const char *value);
/* Borrowed value of key, or NULL. */
const char *pg_profile_meta_get(const pg_profile_t *profile, const char *key);

/* Index of the function (name, file, line, kind), adding it when absent.
 * Returns the index (>= 0) or a negative pg_error_t. */
int64_t pg_profile_func_intern(pg_profile_t *profile, const char *name,
                               size_t name_length, const char *file,
                               size_t file_length, uint32_t line, uint32_t kind);

/* Index of the child of parent for func, creating it when absent.
 * Returns the index (>= 0) or a negative pg_error_t. */
int64_t pg_profile_node_child(pg_profile_t *profile, uint32_t parent, uint32_t func);

/* Append a node as read from a file: no lookup, indexes rebuilt lazily.
 * The caller guarantees the invariants (the reader checks them). */
int pg_profile_node_append(pg_profile_t *profile, const pg_node_t *node);
int pg_profile_func_append(pg_profile_t *profile, uint32_t name, uint32_t file,
                           uint32_t line, uint32_t kind);

/* Append a copy of process (role copied). */
int pg_profile_process_add(pg_profile_t *profile, const pg_process_t *process);
/* The numbers of a process entry that profile itself holds: start, duration,
 * events, calls and busy time (pid, parent, role and state are left 0/NULL
 * for the caller). */
void pg_profile_process_summary(const pg_profile_t *profile, pg_process_t *out);
/* Index of the metric called name, adding it (all values zero) when absent.
 * An existing metric keeps its unit and merge rule: PG_ERR_ARG when they
 * differ from the ones asked for. PG_ERR_LIMIT beyond PG_METRIC_LIMIT.
 * Returns the index (>= 0) or a negative pg_error_t. */
int64_t pg_profile_metric_intern(pg_profile_t *profile, const char *name, const char *unit,
                                 pg_metric_merge_t merge);
/* Charge value to node for metric: SUM adds (wrapping modulo 2^64), MAX
 * keeps the larger. PG_ERR_ARG for an index out of range. */
int pg_profile_metric_charge(pg_profile_t *profile, uint32_t metric, uint32_t node,
                             uint64_t value);
/* Combine two values by a merge rule. */
static inline uint64_t pg_metric_combine(uint32_t merge, uint64_t a, uint64_t b)
{
    if (merge == PG_METRIC_MAX)
        return a > b ? a : b;
    return a + b;
}
/* Append a metric as read from a file: no lookup (the reader checks that
 * names are unique); name and unit are strings indexes. */
int pg_profile_metric_append(pg_profile_t *profile, uint32_t name, uint32_t unit, uint32_t merge);
/* Index of the metric called name, or -1. */
int64_t pg_profile_metric_find(const pg_profile_t *profile, const char *name);
/* Append one I/O row (copied). 0 or PG_ERR_NOMEM / PG_ERR_LIMIT. */
int pg_profile_thread_io_append(pg_profile_t *profile, const pg_thread_io_t *row);

/* Add self, total (units) and hits to the line heat of (func, line), the row
 * created when absent. PG_ERR_ARG when func is not a function of profile;
 * otherwise 0, PG_ERR_NOMEM or PG_ERR_LIMIT. */
int pg_profile_line_charge(pg_profile_t *profile, uint32_t func, uint32_t line, uint64_t self,
                           uint64_t total, uint64_t hits);

/* Forget all functions' and nodes' data but keep strings and functions
 * (used after calibration); line heat is
 * forgotten too. */
void pg_profile_clear_counts(pg_profile_t *profile);

/* Deep copy of src into dst (dst uninitialised). Lookup indexes are not
 * copied; they are rebuilt on demand. */
int pg_profile_copy(pg_profile_t *dst, const pg_profile_t *src);

/* Heap bytes owned by the profile. */
uint64_t pg_profile_memory(const pg_profile_t *profile);

/* The profile file (pg_format.c). Writing goes to "<path>.tmp-<pid>" and is
 * renamed over path, so a reader never sees a half-written file. */
int pg_profile_write(const pg_profile_t *profile, const char *path);
/* Read a profile file (format: docs/format.md); same contract as
 * pg_profile_read_buffer, plus PG_ERR_IO with errno set. */
int pg_profile_read(pg_profile_t *profile, const char *path);
/* Parse a whole file image. profile is either freshly initialised
 * (pg_profile_init, nothing added) or all-zero (memset). An all-zero profile
 * is initialised here and, on error, released again (all-zero: nothing to
 * free). A freshly initialised one is left valid but incomplete on error,
 * and the caller releases it. Anything else: PG_ERR_ARG. */
int pg_profile_read_buffer(pg_profile_t *profile, const uint8_t *data, size_t size);

#endif
