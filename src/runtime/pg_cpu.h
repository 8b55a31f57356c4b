/* CPU time attribution by per-thread CPU-time timers (pg_cpu.c explains
 * the mechanism and its resolution).
 *
 * Threading: start/stop run with the GIL. pg_cpu_thread_attach runs on the
 * thread being attached (it names itself as the signal target);
 * pg_cpu_thread_detach runs under the tracer's thread_lock, from the
 * thread itself at exit or from the stopping thread.
 */
#ifndef PG_CPU_H
#define PG_CPU_H

#include <stdint.h>

struct pg_thread;

/* Record cpu.ns this session, one timer expiry every period_ns of a
 * thread's CPU time. PG_ERR_LIMIT when no real-time signal is free. */
int pg_cpu_start(uint64_t period_ns);
/* No more timers are armed; the caller deletes the existing ones. */
void pg_cpu_stop(void);
/* Arm a timer for the calling thread (its pg_thread_t) if a session wants one. */
void pg_cpu_thread_attach(struct pg_thread *thread);
/* Delete the thread's timer, if any. */
void pg_cpu_thread_detach(struct pg_thread *thread);
/* The real-time signal in use, 0 before the first start. */
int pg_cpu_signal(void);

#endif
