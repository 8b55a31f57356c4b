/* The deterministic tracer: per-thread shadow stacks feeding the shared call
 * tree of a live pg_profile_t.
 *
 * Threading: every function here runs with the GIL held, which serialises
 * all access to pg_tracer.profile and to each pg_thread_t's frames. The
 * only code that runs without the GIL is the thread-exit destructor, which
 * touches nothing but its own pg_thread_t and the thread list (thread_lock).
 *
 * Hot path rules: no Python object is created, nothing raises, no lock is
 * taken, no CPU-time clock is read. Allocation failures become counters
 * (run.lost_events) reported at stop.
 *
 * A frame's key identifies what was entered: the code object (3.12+) or
 * frame object (3.10/11) for Python code, the callable for a builtin. An exit pops only when the key (and for
 * builtins the caller) matches the top frame, so events for activations
 * that began before start() or inside collapsed code are ignored safely.
 */
#ifndef PG_TRACER_H
#define PG_TRACER_H

#include "pg_compat.h"

#include <pthread.h>
#include <stdint.h>
#include <time.h>
#include <sys/types.h>

#include "pg_clock.h"
#include "pg_profile.h"

#define PG_LIKELY(x) __builtin_expect(!!(x), 1)
#define PG_UNLIKELY(x) __builtin_expect(!!(x), 0)
/* Orders this thread's own stores against a signal handler running on the
 * same thread (a compiler barrier; no instruction). */
#define PG_SIGNAL_FENCE() __atomic_signal_fence(__ATOMIC_SEQ_CST)

/* Frame accumulators: resource counters that hooks which cannot touch the
 * shared profile (no GIL: the RAW allocator, I/O syscalls, signal handlers)
 * add to the calling thread's top frame. When the frame is popped (with the
 * GIL) each accumulator whose bit is set in acc_mask is charged to the
 * frame's node through the slot's metric (pg_tracer.acc_metric). A bit clear
 * means the slot's value is garbage: push only clears the mask.
 *
 * MEM_ENTRY and MEM_PEAK are levels, not sums: the thread's live heap bytes
 * (pg_thread_t.mem_live, as int64) when the frame's first memory event came
 * (or its first child's entry level), and the highest level seen while the
 * frame was on the stack. The pop charges PEAK - ENTRY (clamped at 0) to
 * mem.peak_bytes and passes both levels up to the parent
 * (pg_tracer_acc_level). Levels are set only with the GIL held or by the
 * RAW hook on its own thread, never by a signal handler. */
typedef enum pg_acc_slot {
    PG_ACC_IO_READ_BYTES = 0,  /* io.read_bytes, bytes */
    PG_ACC_IO_WRITE_BYTES,     /* io.write_bytes, bytes */
    PG_ACC_IO_READ_OPS,        /* io.read_ops, count */
    PG_ACC_IO_WRITE_OPS,       /* io.write_ops, count */
    PG_ACC_IO_NS,              /* io.ns: time inside I/O calls, ns */
    PG_ACC_MEM_ALLOC_BYTES,    /* mem.alloc_bytes, bytes */
    PG_ACC_MEM_ALLOC_COUNT,    /* mem.alloc_count, count */
    PG_ACC_MEM_FREED_BYTES,    /* mem.freed_bytes, bytes (net = alloc - freed) */
    PG_ACC_MEM_ENTRY,          /* level: live bytes at entry (no metric) */
    PG_ACC_MEM_PEAK,           /* level: highest live bytes; mem.peak_bytes, MAX */
    PG_ACC_CPU_NS,             /* cpu.ns: on-CPU time from the CPU timer, ns */
    PG_ACC_COUNT
} pg_acc_slot_t;

typedef struct pg_frame {
    const void *key;      /* code object (3.12+), frame object (3.10/11) or
                             builtin callable: borrowed, only compared,
                             never dereferenced */
    const void *caller;   /* builtins: calling code/frame; NULL for Python */
    uint32_t node;        /* call-tree node, PG_NONE when it could not be made */
    uint32_t func;        /* function index */
    uint64_t start;       /* clock ticks at entry */
    uint64_t children;    /* ticks spent in completed direct children */
    uint32_t cached_func; /* last child function entered from here ... */
    uint32_t cached_node; /* ... and its node: skips the hash in loops */
    uint32_t acc_mask;    /* bit s set: acc[s] holds a value (see pg_acc_slot_t) */
    uint64_t acc[PG_ACC_COUNT]; /* accumulators; written by this thread only
                                   (hooks, its signal handler) */
    uint32_t line;          /* --lines: current line (LINE events), 0 = none */
    uint32_t line_hit;      /* ... 1 when it counts as an execution (0: the
                               rest of a line after a generator resume) */
    uint64_t line_start;    /* ... ticks when it began */
    uint64_t line_children; /* ... children at that moment (self = total
                               minus the children completed during it) */
} pg_frame_t;

typedef struct pg_thread {
    pg_frame_t *frames;      /* owned shadow stack; replaced (never realloc'd
                                in place) when it grows, so a signal handler
                                on this thread always sees a valid array */
    uint32_t depth;          /* frames in use */
    uint32_t capacity;       /* frames allocated */
    uint64_t generation;     /* tracer session that last used this stack */
    uint32_t root_cached_func; /* like pg_frame_t.cached_* for the root */
    uint32_t root_cached_node;
    uint32_t root_acc_mask;  /* accumulators of activity at depth 0, charged */
    uint64_t root_acc[PG_ACC_COUNT]; /* to the root node (see pg_frame_t) */
    int64_t mem_live;        /* heap bytes this thread allocated minus freed
                                while profiled (pg_memory.c; own thread only) */
    uint64_t mem_allocated;  /* heap bytes this thread allocated, ever */
    timer_t cpu_timer;       /* its CPU-time timer (pg_cpu.c) ... */
    int cpu_timer_armed;     /* ... valid when 1; thread_lock */
    uint32_t published_node; /* node this thread is in (PG_ROOT: none), for
                                the resource sampler: relaxed atomic stores
                                by this thread, loads by the sampler */
    pid_t tid;               /* kernel thread id, set when first attached */
    uint64_t io_hooked[8];   /* this session, seen by the I/O hooks (pg_io.c;
                                own thread only): read-family bytes read,
                                bytes written, read calls, write calls, then
                                the same four for send/recv-family calls */
    struct pg_thread *next;  /* thread list, protected by thread_lock */
    struct pg_thread *prev;
} pg_thread_t;

/* Value stored in a code object's co_extra slot: the session generation in
 * the high 32 bits and func index + 1 in the low bits, or PG_CODE_FILTERED
 * when the code is collapsed into its caller. 0 = never seen. */
#define PG_CODE_FILTERED 0xffffffffu

typedef struct pg_filter {
    char **collapse_prefixes; /* owned; files under these are collapsed */
    size_t collapse_count;
    char **module_roots;      /* owned; for file -> dotted module name */
    size_t root_count;
    char **ignore_globs;      /* owned; fnmatch patterns on module or file */
    size_t ignore_count;
} pg_filter_t;

typedef struct pg_tracer {
    pg_profile_t profile;      /* live profile (owned); units = clock ticks */
    uint64_t generation;       /* incremented by every start; 0 = never */
    int active;                /* 1 between start and stop */
    int builtins;              /* attribute builtin calls */
    int exact_builtins;        /* 3.12+: keep every call site watched for
                                  builtins (slower; see pg_monitoring.c) */
    pg_filter_t filter;        /* set at start, owned */
    Py_ssize_t extra_index;    /* co_extra slot, -1 until requested */
    uint64_t events;           /* callbacks handled this session */
    uint64_t lost;             /* events dropped by allocation failure */
    uint64_t unmatched;        /* exits that matched no entry */
    pg_clock_mark_t start_mark;/* clock at start */
    uint64_t start_epoch_ns;   /* CLOCK_REALTIME at start */
    double event_cost_ticks;   /* calibrated cost of one event */
    uint32_t acc_enabled;      /* slots (bits) whose metric is recorded */
    uint32_t acc_metric[PG_ACC_COUNT]; /* slot -> metric index in profile, or
                                          PG_NONE (disabled or no metric) */
} pg_tracer_t;

extern pg_tracer_t pg_tracer;

/* The calling thread's shadow stack for this session (slow path allocates).
 * NULL only when out of memory. */
extern __thread pg_thread_t *pg_thread_current __attribute__((tls_model("initial-exec")));
pg_thread_t *pg_thread_attach(void);

static inline pg_thread_t *pg_thread_get(void)
{
    pg_thread_t *thread = pg_thread_current;
    if (PG_LIKELY(thread && thread->generation == pg_tracer.generation))
        return thread;
    return pg_thread_attach();
}

/* Slow paths, in pg_tracer.c. */
int pg_thread_grow(pg_thread_t *thread);
uint32_t pg_tracer_child_slow(pg_thread_t *thread, uint32_t func);

/* Func index for a code object: registers it on first sight. Returns
 * PG_CODE_FILTERED for collapsed code and PG_NONE when it failed. */
uint32_t pg_codemap_register(PyCodeObject *code);
/* Func index for a builtin (a PyCFunction, or a method descriptor called
 * with self_arg as its first argument), named the way cProfile names it;
 * PG_NONE for other callables. */
uint32_t pg_codemap_builtin(PyObject *callable, PyObject *self_arg);

static inline uint32_t pg_codemap_code(PyCodeObject *code)
{
    void *extra = pg_code_extra_fast(code, pg_tracer.extra_index);
    uint64_t value = (uint64_t)(uintptr_t)extra;
    if (PG_LIKELY((value >> 32) == (pg_tracer.generation & 0xffffffffu) && value))
        return (uint32_t)value == PG_CODE_FILTERED ? PG_CODE_FILTERED
                                                   : (uint32_t)value - 1;
    return pg_codemap_register(code);
}

/* Charge the calling thread's root accumulators to the root node (GIL). */
void pg_tracer_acc_flush_root(pg_thread_t *thread);

/* Enter func. The entry time is read last so the bookkeeping is charged to
 * the caller (where the overhead correction expects it). */
static inline void pg_tracer_push(pg_thread_t *thread, const void *key,
                                  const void *caller, uint32_t func)
{
    uint32_t node;
    pg_tracer.events++;
    if (PG_UNLIKELY(thread->depth == thread->capacity) && pg_thread_grow(thread) < 0) {
        pg_tracer.lost++;
        return;
    }
    if (thread->depth) {
        pg_frame_t *parent = &thread->frames[thread->depth - 1];
        if (PG_LIKELY(parent->cached_func == func))
            node = parent->cached_node;
        else
            node = pg_tracer_child_slow(thread, func);
        if (parent->node != PG_NONE)
            pg_tracer.profile.nodes[parent->node].events++;
    } else {
        if (PG_UNLIKELY(thread->root_acc_mask))
            pg_tracer_acc_flush_root(thread);
        if (PG_LIKELY(thread->root_cached_func == func))
            node = thread->root_cached_node;
        else
            node = pg_tracer_child_slow(thread, func);
        pg_tracer.profile.nodes[PG_ROOT].events++;
    }
    pg_frame_t *frame = &thread->frames[thread->depth];
    frame->key = key;
    frame->caller = caller;
    frame->node = node;
    frame->func = func;
    frame->children = 0;
    frame->cached_func = PG_NONE;
    frame->acc_mask = 0;
    frame->line = 0;
    PG_SIGNAL_FENCE(); /* a signal sees the frame only once it is clean */
    thread->depth++;
    __atomic_store_n(&thread->published_node, node, __ATOMIC_RELAXED);
    frame->start = pg_clock_ticks();
}

/* Charge the line a popped frame was on to the line heat (pg_linetrace.c). */
void pg_tracer_line_close(pg_frame_t *frame, uint64_t now);

/* Charge a popped frame's accumulators (slow path, pg_tracer.c). */
void pg_tracer_acc_flush(pg_thread_t *thread, pg_frame_t *frame);

/* Leave the top frame at time now. */
static inline void pg_tracer_pop(pg_thread_t *thread, uint64_t now, int by_exception)
{
    pg_frame_t *frame = &thread->frames[--thread->depth];
    PG_SIGNAL_FENCE(); /* from here a signal charges the parent */
    uint64_t elapsed = now - frame->start;
    pg_tracer.events++;
    __atomic_store_n(&thread->published_node, thread->depth ? frame[-1].node : PG_ROOT,
                     __ATOMIC_RELAXED);
    if (PG_LIKELY(frame->node != PG_NONE)) {
        pg_node_t *node = &pg_tracer.profile.nodes[frame->node];
        node->calls++;
        node->inclusive += elapsed;
        node->exclusive += elapsed - frame->children;
        node->exc_exits += (uint64_t)by_exception;
        if (PG_UNLIKELY(pg_hist_add(&pg_tracer.profile.funcs[frame->func].hist, elapsed) < 0))
            pg_tracer.lost++;
    }
    if (PG_UNLIKELY(frame->acc_mask))
        pg_tracer_acc_flush(thread, frame);
    if (PG_UNLIKELY(frame->line))
        pg_tracer_line_close(frame, now);
    if (thread->depth) {
        pg_frame_t *parent = &thread->frames[thread->depth - 1];
        parent->children += elapsed;
        if (parent->node != PG_NONE)
            pg_tracer.profile.nodes[parent->node].events++;
    } else {
        pg_tracer.profile.nodes[PG_ROOT].events++;
    }
}

/* The accumulators the calling thread's activity goes to now: its top
 * frame's, or its root ones at depth 0; NULL when the thread is not part of
 * the current session. Reads only this thread's own state, so it is safe
 * without the GIL and in a signal handler on this thread. */
static inline uint64_t *pg_tracer_acc_target(pg_thread_t *thread, uint32_t **mask)
{
    if (PG_UNLIKELY(!thread || thread->generation != pg_tracer.generation))
        return NULL;
    uint32_t depth = thread->depth;
    if (depth == 0) {
        *mask = &thread->root_acc_mask;
        return thread->root_acc;
    }
    pg_frame_t *frame = &thread->frames[depth - 1];
    *mask = &frame->acc_mask;
    return frame->acc;
}

/* Add value to slot of the calling thread's current frame. No GIL needed,
 * async-signal-safe, never fails (a thread outside the session is
 * ignored). A signal landing between another hook's mask read and write on
 * the same thread can lose that signal's one addition (rare; the mask is
 * plain memory, an atomic would cost every allocation). */
static inline void pg_tracer_acc_add(unsigned slot, uint64_t value)
{
    uint32_t *mask;
    uint64_t *acc = pg_tracer_acc_target(pg_thread_current, &mask);
    if (!acc)
        return;
    uint32_t bit = 1u << slot;
    acc[slot] = (*mask & bit ? acc[slot] : 0) + value;
    *mask |= bit;
}

/* Record a change of the calling thread's live level from before to after
 * (pg_acc_slot_t MEM_ENTRY/MEM_PEAK). Own thread only, not from a signal. */
static inline void pg_tracer_acc_level(pg_thread_t *thread, int64_t before, int64_t after)
{
    uint32_t *mask;
    uint64_t *acc = pg_tracer_acc_target(thread, &mask);
    if (!acc)
        return;
    uint32_t bit = 1u << PG_ACC_MEM_ENTRY;
    if (!(*mask & bit)) {
        acc[PG_ACC_MEM_ENTRY] = (uint64_t)before;
        acc[PG_ACC_MEM_PEAK] = (uint64_t)(after > before ? after : before);
        *mask |= bit | (1u << PG_ACC_MEM_PEAK);
    } else if (after > (int64_t)acc[PG_ACC_MEM_PEAK]) {
        acc[PG_ACC_MEM_PEAK] = (uint64_t)after;
    }
}

/* Record slots (a mask of 1 << pg_acc_slot_t) for this session: interns
 * their metrics in the live profile now and again after pg_tracer_reset.
 * Call after pg_tracer_begin, with the GIL. 0 or a negative pg_error_t. */
int pg_tracer_acc_enable(uint32_t slots);
/* Call visit for every thread stack, under the thread-list lock (visit
 * must not attach threads or take the GIL). */
void pg_tracer_threads_visit(void (*visit)(const pg_thread_t *thread, void *data), void *data);

/* Pop the frame whose key is key. Nearly always the top; when an exit
 * arrives for a frame below the top (frames whose exit was never reported),
 * those above are closed first. Returns 0 when no frame matched. */
int pg_tracer_pop_deep(pg_thread_t *thread, const void *key, uint64_t now, int by_exception);

static inline int pg_tracer_pop_key(pg_thread_t *thread, const void *key, uint64_t now,
                                    int by_exception)
{
    if (PG_LIKELY(thread->depth && thread->frames[thread->depth - 1].key == key)) {
        pg_tracer_pop(thread, now, by_exception);
        return 1;
    }
    return pg_tracer_pop_deep(thread, key, now, by_exception);
}

/* Session control (pg_tracer.c). Return 0 or a negative pg_error_t. */
int pg_tracer_begin(int builtins, int exact_builtins, pg_filter_t *filter /* ownership taken */);
/* Close every open frame, fill run stats, and move the profile into out. */
int pg_tracer_end(pg_profile_t *out);
uint64_t pg_tracer_memory(void);
void pg_filter_release(pg_filter_t *filter);

/* Backends: pg_monitoring.c (3.12+) and pg_setprofile.c (3.10/11).
 * install returns 0, or -1 with a Python exception set (it may call
 * Python); uninstall never fails. */
int pg_backend_install(void);
void pg_backend_uninstall(void);
const char *pg_backend_name(void);
uint64_t pg_backend_memory(void); /* heap bytes the backend holds */

/* Calibration (pg_calibrate.c): pg_calibrate_untraced() times the loop
 * before the backend is installed, pg_calibrate() after, and sets
 * event_cost_ticks. Measured once per process. -1 with an exception set.
 * The caller resets the live profile afterwards (pg_tracer_reset). */
int pg_calibrate_untraced(void);
int pg_calibrate(void);

/* Drop everything recorded so far in this session (calibration calls) and
 * restart its clock; filters and options are kept. */
int pg_tracer_reset(void);

/* Heap bytes of the builtin map (pg_codemap.c). */
uint64_t pg_codemap_memory(void);

#endif
