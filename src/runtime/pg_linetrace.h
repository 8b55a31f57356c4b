/* Line heat in deterministic mode (pipegauge run --lines): sys.monitoring
 * LINE events, 3.12+ only, enabled per code object for our tool id on the
 * chosen functions and nowhere else.
 *
 * Which functions:
 * - named ones: the qualified name matches a --lines-for pattern (substring
 *   or fnmatch glob, as view's name filters); enabled when the code object
 *   is first registered, so their heat covers every call;
 * - threshold ones: every ~100 ms (checked from the clock read the tracer
 *   makes at each function entry anyway) the functions whose own-frame time
 *   so far, completed calls plus open frames, exceeds threshold x the run's
 *   elapsed time are marked; their code objects get LINE events from their
 *   next entry (or at once when open on the checking thread's stack). Their
 *   heat covers the run from that moment (kept per function, written as
 *   the metadata key "lines.since").
 *
 * Per-frame line state lives in the shadow-stack frame (pg_frame_t.line,
 * line_start, line_children): a LINE event closes the previous line of the
 * top frame (total = ticks since it began, self = total minus the inclusive
 * time of the calls completed during it) and opens the new one; popping the
 * frame closes its last line.
 *
 * Threading: everything runs with the GIL held (monitoring callbacks, the
 * tracer's pop, session control); the threshold check takes the tracer's
 * thread-list lock only to read other threads' stacks, never across Python
 * code.
 */
#ifndef PG_LINETRACE_H
#define PG_LINETRACE_H

#include "pg_tracer.h"

/* Per-function states (pg_linetrace.func_state). */
enum {
    PG_LINES_OFF = 0,     /* no line events */
    PG_LINES_WANTED = 1,  /* chosen by the threshold: enable at next entry */
    PG_LINES_ON = 2,      /* LINE events enabled on its code object */
};

typedef struct pg_linetrace {
    int requested;           /* 1 when the next session records line heat */
    int enabled;             /* 1 once the session's real run started (after
                                calibration, which must not see LINE events) */
    int threshold_on;        /* 1 when the share threshold chooses functions */
    double threshold;        /* share of the run (0..1] for threshold_on */
    char **patterns;         /* owned --lines-for patterns */
    size_t pattern_count;
    uint64_t check_ticks;    /* ticks between threshold checks */
    uint64_t next_check;     /* clock ticks of the next check */
    uint8_t *func_state;     /* owned, PG_LINES_* by function index */
    uint64_t *func_since;    /* owned, ticks since start when turned on */
    uint32_t func_count;     /* entries of func_state and func_since */
    uint64_t *scratch;       /* owned, per-function self ticks of a check */
    uint32_t scratch_count;
    uint64_t failures;       /* set_local_events calls that failed */
    uint64_t functions_on;   /* functions with LINE events this session */
} pg_linetrace_t;

extern pg_linetrace_t pg_linetrace;

/* Configure the next session (GIL, before pg_tracer_begin). patterns are
 * copied. threshold <= 0 turns the threshold off. 0 or PG_ERR_NOMEM. */
int pg_linetrace_configure(int enabled, const char *const *patterns, size_t pattern_count,
                           double threshold);
/* After calibration (pg_tracer_reset): forget per-function state, which
 * indexed the calibration profile, and start the check clock. */
void pg_linetrace_reset(void);
/* At stop, before pg_tracer_end: write "lines.since" and "lines.functions"
 * metadata into the live profile and drop per-function state. */
void pg_linetrace_finish(void);
void pg_linetrace_release(void);
uint64_t pg_linetrace_memory(void);

/* A code object was registered as func with qualified name (GIL). */
void pg_linetrace_on_register(PyCodeObject *code, uint32_t func, const char *name);
/* Slow part of pg_linetrace_on_entry. */
void pg_linetrace_entry_slow(PyCodeObject *code, uint32_t func, uint64_t now, int resumed,
                             PyObject *offset);

/* After a Python frame of func was pushed at time now (its start); resumed
 * with the instruction offset for PY_RESUME (a generator or coroutine goes
 * on mid-line: that line is current again without a LINE event);
 * offset: the event's instruction offset (borrowed int). */
static inline void pg_linetrace_on_entry(PyCodeObject *code, uint32_t func, uint64_t now,
                                         int resumed, PyObject *offset)
{
    if (PG_UNLIKELY(pg_linetrace.enabled))
        pg_linetrace_entry_slow(code, func, now, resumed, offset);
}

/* A LINE event for code at line (the top frame's code when all is well). */
void pg_linetrace_on_line(PyCodeObject *code, uint32_t line);

/* Backend hooks (pg_monitoring.c): turn LINE events on for code (GIL; may
 * call Python; never leaves an exception set) and off for every code object
 * turned on this session. */
int pg_backend_lines_enable(PyCodeObject *code);
void pg_backend_lines_disable_all(void);

#endif
