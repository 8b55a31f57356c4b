/* The event clock.
 *
 * On x86-64 with an invariant TSC the clock is rdtsc (~7 ns, no syscall); the
 * tick rate is calibrated against CLOCK_MONOTONIC over the whole run, so long
 * runs get an exact rate. Elsewhere ticks are CLOCK_MONOTONIC nanoseconds read
 * through the vDSO. Never a CPU-time clock: those are syscalls.
 */
#ifndef PG_CLOCK_H
#define PG_CLOCK_H

#include <stdint.h>
#include <time.h>

#if defined(__x86_64__) || defined(_M_X64)
#include <x86intrin.h>
#define PG_CLOCK_HAVE_TSC 1
#else
#define PG_CLOCK_HAVE_TSC 0
#endif

/* 1 when pg_clock_ticks() reads the TSC; set once by pg_clock_init(). */
extern int pg_clock_use_tsc;

/* Decide the clock source (reads /proc/cpuinfo once). Idempotent. */
void pg_clock_init(void);

static inline uint64_t pg_clock_monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline uint64_t pg_clock_ticks(void)
{
#if PG_CLOCK_HAVE_TSC
    if (pg_clock_use_tsc)
        return __rdtsc();
#endif
    return pg_clock_monotonic_ns();
}

/* A (ticks, nanoseconds) pair read back to back, for calibration. */
typedef struct pg_clock_mark {
    uint64_t ticks; /* pg_clock_ticks() */
    uint64_t ns;    /* CLOCK_MONOTONIC nanoseconds */
} pg_clock_mark_t;

pg_clock_mark_t pg_clock_mark(void);

/* Nanoseconds per tick, measured from the process's first pg_clock_init()
 * to *end, so the rate gets more exact the longer the process lives and a
 * short session needs no calibration of its own. While less than 5 ms have
 * passed since that origin it spins (once per process), updating *end. */
double pg_clock_ns_per_tick(pg_clock_mark_t *end);

#endif
