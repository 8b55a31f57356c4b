/* The stack sampler: sampling mode's statistical profiler (docs/sampling.md).
 *
 * No profile hook is installed. Each thread of the process gets a POSIX
 * timer (timer_create, SIGEV_THREAD_ID) on CLOCK_MONOTONIC (wall mode) or
 * on the thread's own CPU-time clock (cpu mode). Every expiry delivers a
 * real-time signal to that thread; the handler, running IN the interrupted
 * thread, walks the thread's own frame chain (pg_framewalk.c) and appends
 * (code object pointer, instruction index) pairs to the thread's
 * preallocated ring. It never allocates, locks or calls Python, and it does
 * not wait for the GIL, so a thread running C code with the GIL released is
 * sampled where it is.
 *
 * A control thread (no GIL) discovers threads by listing /proc/self/task
 * every PG_STACK_POLL_MS, arms a timer for each new one and deletes the
 * timers of threads that are gone. Every PG_STACK_DRAIN_MS it takes the GIL
 * and drains the rings (pg_stackresolve.c): code pointers become functions
 * and lines, and samples are charged into the live profile's call tree
 * (calls stay 0; inclusive/exclusive = samples x period) and line table.
 *
 * Threading: start, stop and drain run with the GIL. A ring has one
 * producer (the handler on its thread) and one consumer (a drain, GIL), and
 * is lock-free: head and tail are atomics. The slot table (slots[], busy[])
 * is static and never freed, so a late signal from a deleted timer finds
 * either no ring or one of another session (rejected by its tag).
 *
 * Fork: the child has neither the control thread nor the timers (POSIX
 * timers are not inherited); an atfork handler forgets the session, so the
 * child samples nothing unless profiling is started again there.
 */
#ifndef PG_STACKSAMPLER_H
#define PG_STACKSAMPLER_H

#include <setjmp.h>
#include <stdint.h>
#include <sys/types.h>

#define PG_STACK_MAX_DEPTH 256   /* frames kept per sample (innermost) */
#define PG_STACK_RING_WORDS (1u << 15) /* 256 KiB per sampled thread */
#define PG_STACK_MAX_THREADS 512 /* threads sampled at once */
#define PG_STACK_POLL_MS 50      /* thread discovery period */
#define PG_STACK_DRAIN_MS 20     /* drain period (the control thread takes the GIL) */
#define PG_STACK_MAX_HZ 10000.0

/* A ring record: one header word, then two words per frame, innermost
 * first: the code object pointer and its instruction index (code units). */
#define PG_STACK_HEADER(depth, truncated, weight)                                     \
    ((uint64_t)(depth) | ((uint64_t)((truncated) ? 1 : 0) << 31) | ((uint64_t)(weight) << 32))
#define PG_STACK_DEPTH(header) ((uint32_t)((header) & 0x7fffffffu))
#define PG_STACK_TRUNCATED(header) ((uint32_t)(((header) >> 31) & 1u))
#define PG_STACK_WEIGHT(header) ((uint32_t)((header) >> 32))

typedef struct pg_stack_ring {
    uint64_t head;        /* words written; producer, release store */
    uint64_t tail;        /* words consumed; consumer, release store */
    uint64_t taken;       /* samples recorded; producer (relaxed) */
    uint64_t lost;        /* samples dropped, ring full; producer (relaxed) */
    uint64_t faults;      /* walks the fault guard stopped; producer (relaxed) */
    uint64_t tag;         /* session tag the handler checks; set before arming */
    pid_t tid;            /* kernel thread id (control thread) */
    int alive;            /* timer armed (control thread) */
    int seen;             /* listed in the latest /proc poll (control thread) */
    timer_t timer;        /* valid while alive (control thread) */
    int walking;          /* the handler is walking frames (its thread only) */
    sigjmp_buf escape;    /* where a fault during the walk lands (on_fault) */
    uint64_t scratch[2 * PG_STACK_MAX_DEPTH]; /* the handler's walk buffer */
    uint64_t words[PG_STACK_RING_WORDS];
} pg_stack_ring_t;

/* Frame walk of the calling thread (pg_framewalk.c): up to max_frames
 * (code, instruction) pairs into out, innermost first; *truncated = 1 when
 * frames were left out. Async-signal-safe. */
uint32_t pg_framewalk_self(uint64_t *out, uint32_t max_frames, int *truncated);

/* Start sampling every 1/hz s of wall time (cpu = 0) or of each thread's
 * CPU time (cpu = 1). lines_only = 1: beside the deterministic tracer
 * (3.10/3.11 --lines), samples feed only the line table, never the call
 * tree the tracer builds, and stop writes lines.* metadata, not mode. hz in (0, PG_STACK_MAX_HZ]. GIL; the live profile
 * (pg_tracer.profile) must be begun. 0, PG_ERR_ARG, PG_ERR_LIMIT (no free
 * real-time signal), PG_ERR_NOMEM or PG_ERR_IO (no control thread). */
int pg_stacksampler_start(double hz, int cpu, int lines_only);
/* Stop: delete the timers, join the control thread, drain what is left and
 * write the sampling metadata into the live profile. GIL. */
void pg_stacksampler_stop(void);
/* Drain every ring into the live profile now. GIL. */
void pg_stacksampler_drain(void);
/* 1 between start and stop in this process. */
int pg_stacksampler_active(void);
/* Threads a timer was armed for in the current or last session. */
uint64_t pg_stacksampler_threads(void);
/* Heap bytes held (rings and the resolver's cache). */
uint64_t pg_stacksampler_memory(void);

/* The resolver (pg_stackresolve.c), GIL held throughout. begin prepares a
 * session whose samples weigh period_ns each (lines_only: charged to the
 * line table alone); record charges one sample
 * (frames innermost first, as in the ring); end releases the cache and the
 * strong references it holds on code objects. */
/* The code object being destroyed while the rings drain before its death
 * (NULL after): its pending samples resolve without a reference to it. */
void pg_stackresolve_dying(const void *code);
int pg_stackresolve_begin(uint64_t period_ns, int lines_only);
void pg_stackresolve_record(const uint64_t *frames, uint32_t depth, int truncated,
                            uint32_t weight);
void pg_stackresolve_end(void);
uint64_t pg_stackresolve_memory(void);
uint64_t pg_stackresolve_dropped(void); /* samples with no resolvable frame */

#endif
