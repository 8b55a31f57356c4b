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

#include "pg_clock.h"
#include "pg_profile.h"

#define PG_LIKELY(x) __builtin_expect(!!(x), 1)
#define PG_UNLIKELY(x) __builtin_expect(!!(x), 0)

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
} pg_frame_t;

typedef struct pg_thread {
    pg_frame_t *frames;      /* owned shadow stack */
    uint32_t depth;          /* frames in use */
    uint32_t capacity;       /* frames allocated */
    uint64_t generation;     /* tracer session that last used this stack */
    uint32_t root_cached_func; /* like pg_frame_t.cached_* for the root */
    uint32_t root_cached_node;
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
        if (PG_LIKELY(thread->root_cached_func == func))
            node = thread->root_cached_node;
        else
            node = pg_tracer_child_slow(thread, func);
        pg_tracer.profile.nodes[PG_ROOT].events++;
    }
    pg_frame_t *frame = &thread->frames[thread->depth++];
    frame->key = key;
    frame->caller = caller;
    frame->node = node;
    frame->func = func;
    frame->children = 0;
    frame->cached_func = PG_NONE;
    frame->start = pg_clock_ticks();
}

/* Leave the top frame at time now. */
static inline void pg_tracer_pop(pg_thread_t *thread, uint64_t now, int by_exception)
{
    pg_frame_t *frame = &thread->frames[--thread->depth];
    uint64_t elapsed = now - frame->start;
    pg_tracer.events++;
    if (PG_LIKELY(frame->node != PG_NONE)) {
        pg_node_t *node = &pg_tracer.profile.nodes[frame->node];
        node->calls++;
        node->inclusive += elapsed;
        node->exclusive += elapsed - frame->children;
        node->exc_exits += (uint64_t)by_exception;
        if (PG_UNLIKELY(pg_hist_add(&pg_tracer.profile.funcs[frame->func].hist, elapsed) < 0))
            pg_tracer.lost++;
    }
    if (thread->depth) {
        pg_frame_t *parent = &thread->frames[thread->depth - 1];
        parent->children += elapsed;
        if (parent->node != PG_NONE)
            pg_tracer.profile.nodes[parent->node].events++;
    } else {
        pg_tracer.profile.nodes[PG_ROOT].events++;
    }
}

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
