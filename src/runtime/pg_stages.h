/* Pipeline stage counters at run time: the live stage table and a
 * per-thread stack of active stage activations.
 *
 * An activation is one stretch of a stage running on one thread: a call of
 * a plain function stage, a with-block, one resume of a generator or
 * iterator stage (until it yields a record or ends), one step of a
 * coroutine. Activations nest: a stage that pulls a record from an upstream
 * stage iterator sees that activation inside its own; the time is its
 * "upstream" wait, not its own time. A stage called from inside another is
 * "nested" time for the caller. own = active - upstream - nested.
 *
 * An invocation (pg_stage_invocation_t) is one generator object or one
 * coroutine from first resume to its end; the gaps between its activations
 * are "suspended" time (a generator waiting on its consumer, a coroutine
 * waiting at an await). Plain calls and with-blocks are one activation and
 * one invocation.
 *
 * Threading: every function here runs with the GIL held, which serialises
 * the live table (pg_stages_live). Each thread's activation stack is its
 * own (thread-local), freed at thread exit by a pthread key destructor that
 * touches nothing else.
 *
 * Hot path (iterator resumes): two clock reads, no allocation after the
 * stack's first growth, no CPU-time clock, no /proc read. CPU time is read
 * (CLOCK_THREAD_CPUTIME_ID) only for activations flagged PG_STAGE_FRAME_CPU
 * (calls, with-blocks, coroutine steps), thread I/O only for those flagged
 * PG_STAGE_FRAME_IO (calls and with-blocks). The thread's allocated-bytes
 * counter (a thread-local field the memory hooks keep) is read at every
 * push and pop while memory is attributed: it is as cheap as a clock read.
 */
#ifndef PG_STAGES_H
#define PG_STAGES_H

#include <stdint.h>

#include "pg_procfs.h"
#include "pg_stage.h"

#define PG_STAGE_FRAME_CPU 1u /* read the thread CPU clock at push and pop */
#define PG_STAGE_FRAME_IO 2u  /* read the thread's /proc I/O counters too */

typedef struct pg_stage_frame {
    uint32_t stage;          /* index into the live table */
    uint32_t flags;          /* PG_STAGE_FRAME_* */
    uint64_t start;          /* clock ticks at push */
    uint64_t upstream;       /* ticks inside upstream stage iterators */
    uint64_t nested;         /* ticks inside nested stage activations */
    uint64_t pulled;         /* records pulled from upstream iterators */
    uint64_t explicit_in;    /* add_records() while this frame was innermost */
    uint64_t explicit_out;
    uint64_t bytes;          /* add_bytes() */
    int has_explicit;        /* add_records() was called */
    uint64_t cpu_start;      /* thread CPU ns at push (PG_STAGE_FRAME_CPU) */
    uint64_t cpu_children;   /* CPU ns of measured frames nested inside */
    pg_proc_io_t io_start;   /* thread I/O at push (PG_STAGE_FRAME_IO) */
    int io_ok;               /* io_start was read */
    uint64_t io_children_read;  /* I/O of measured frames nested inside */
    uint64_t io_children_write;
    uint64_t mem_start;      /* thread allocated bytes at push (mem_ok) */
    uint64_t mem_children;   /* bytes allocated in frames nested inside */
    int mem_ok;              /* memory was being attributed at push */
} pg_stage_frame_t;

/* What an activation did, as its pop reports it. */
typedef struct pg_stage_done {
    uint64_t active;    /* ticks from push to pop */
    uint64_t own;       /* active - upstream - nested */
    uint64_t pulled;    /* records pulled from upstream iterators */
    uint64_t explicit_in, explicit_out, bytes;
    int has_explicit;
} pg_stage_done_t;

/* One generator/iterator/coroutine/async-generator run of a stage. */
typedef struct pg_stage_invocation {
    uint32_t stage;         /* index into the live table */
    uint32_t state;         /* 0 not started, 1 running, 2 finished */
    uint64_t thread;        /* OS thread id of the first activation */
    uint64_t first;         /* ticks at the first activation's start */
    uint64_t last;          /* ticks at the latest activation's end */
    uint64_t busy;          /* own ticks over all activations */
    uint64_t since_record;  /* own ticks since the last record out */
    uint64_t generation;    /* live table generation at the first resume */
} pg_stage_invocation_t;

typedef struct pg_stages {
    pg_stage_table_t table; /* the live table; names stay for the process */
    uint64_t origin;        /* ticks at the latest reset: spans start here */
    uint64_t generation;    /* bumped by every reset */
    uint64_t unmatched;     /* with-block exits that matched no frame */
    uint64_t lost;          /* activations not recorded (no memory) */
    int io_enabled;         /* read /proc thread I/O at call boundaries */
    int cpu_enabled;        /* read the thread CPU clock at call boundaries */
} pg_stages_t;

extern pg_stages_t pg_stages_live;

/* Index of the stage named name in the live table (registered once per
 * process; counters reset per run). Negative pg_error_t on failure. */
int64_t pg_stages_intern(const char *name, size_t length);

/* Zero every counter and span, keep the names; spans count from now. */
void pg_stages_reset(uint64_t origin_ticks);

/* Push an activation of stage on this thread. Returns its depth (>= 1), or
 * 0 when it could not be recorded (no memory; counted in lost). */
uint32_t pg_stages_push(uint32_t stage, uint32_t flags);

/* Pop the activation at depth (frames above it, left open by a with-block
 * that spans a yield, are discarded and counted as unmatched). Charges the
 * stage's own, upstream and nested time, CPU and I/O, and the enclosing
 * activation's nested time (or, when is_pull, its upstream time and, when
 * produced, one pulled record). */
void pg_stages_pop(uint32_t depth, uint64_t now, int is_pull, int produced,
                   pg_stage_done_t *done);

/* The innermost active frame of this thread, or of stage when stage !=
 * UINT32_MAX; NULL when there is none. */
pg_stage_frame_t *pg_stages_innermost(uint32_t stage);
/* Depth of the innermost frame of stage, 0 when none. */
uint32_t pg_stages_depth_of(uint32_t stage);

/* Around a pull from a counting proxy (a plain upstream iterator of a
 * generator stage): the innermost activation counts one record in when the
 * pull produced one, and not also the records the plain iterator pulled
 * from stage iterators meanwhile. begin returns what end restores. */
uint32_t pg_stages_proxy_begin(void);
void pg_stages_proxy_end(uint32_t previous, int produced);

/* Counts of a finished call or with-block: records in/out, bytes,
 * invocations, exceptions, wall, latency, and the span. */
void pg_stages_finish_call(uint32_t stage, const pg_stage_done_t *done, uint64_t records_in,
                           uint64_t records_out, int exception);

/* Invocations: resume before an activation, after_activation after its pop
 * (produced: it yielded a record), finish once at its end. */
void pg_stages_invocation_resume(pg_stage_invocation_t *inv, uint64_t now);
void pg_stages_invocation_after(pg_stage_invocation_t *inv, const pg_stage_done_t *done,
                                uint64_t now, int produced);
void pg_stages_invocation_finish(pg_stage_invocation_t *inv, int exception);
/* Records of a whole invocation known at its end (a coroutine's argument
 * and result sizes): counted, with its own time shared among them as
 * per-record latency. */
void pg_stages_invocation_records(pg_stage_invocation_t *inv, uint64_t records_in,
                                  uint64_t records_out);

/* Deep copy of the live table into dst (uninitialised), without stages
 * that did nothing since the reset. */
int pg_stages_copy(pg_stage_table_t *dst);

/* Heap bytes the live table and this thread's stack hold. */
uint64_t pg_stages_memory(void);

#endif
