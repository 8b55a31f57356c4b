/* The resource sampler: a C thread that fills the run's timeline
 * (src/engine/pg_timeline.h) with process figures from /proc and GPU
 * figures from NVML at a fixed rate, and gathers per-node GPU charges from
 * the call-tree nodes the tracer's threads publish.
 *
 * The sampler thread never takes the GIL and never calls Python: it reads
 * /proc (src/platform/pg_procfs.h), NVML (pg_nvml.h) and, under the
 * tracer's thread_lock, each thread's published node (a relaxed atomic).
 *
 * Control (start, stop, snapshot) runs with the GIL held, from the thread
 * that starts and stops the tracer. After fork() the child has no sampler
 * thread: a pthread_atfork handler forgets it (and the timeline copied
 * from the parent, possibly torn mid-update), so stop in the child returns
 * no timeline, without joining a thread that does not exist.
 */
#ifndef PG_SAMPLER_H
#define PG_SAMPLER_H

#include <stddef.h>

#include "pg_profile.h"
#include "pg_timeline.h"

/* Start sampling every 1/hz seconds (hz in [0, 10000]; 0 = no timeline,
 * no thread); gpu: also read NVML. 0 or a negative pg_error_t (PG_ERR_ARG, PG_ERR_NOMEM, or
 * PG_ERR_IO when the thread cannot be created). */
int pg_sampler_start(double hz, int gpu);
/* Stop and join the thread. The timeline moves to *timeline (all-zero
 * when none was running), the per-node GPU charges to *charges; gpu_status
 * receives the metadata line "N device(s): names" or "none (why)". */
void pg_sampler_stop(pg_timeline_t *timeline, pg_node_charges_t *charges, char *gpu_status,
                     size_t status_size);
/* The metadata line for "gpu" as it stands now. */
void pg_sampler_status(char *gpu_status, size_t status_size);
/* Move timeline into profile (taking ownership), record gpu_status as the
 * metadata "gpu", and when the timeline has GPUs charge the per-node
 * metrics gpu.busy_ns (ns, SUM) and gpu.mem_bytes (this process's GPU
 * bytes, MAX) from charges; charges beyond the profile's nodes are
 * ignored. 0 or a negative pg_error_t (the timeline is moved anyway). */
int pg_sampler_attach(pg_profile_t *profile, pg_timeline_t *timeline,
                      const pg_node_charges_t *charges, const char *gpu_status);
/* A copy of the timeline so far (all-zero when not running). */
int pg_sampler_snapshot(pg_timeline_t *copy);
/* 1 while a sampler thread runs. */
int pg_sampler_running(void);
/* Heap bytes the sampler holds. */
uint64_t pg_sampler_memory(void);

/* The call-tree nodes the tracer's threads are in now (pg_tracer.c): up
 * to max nodes, skipping threads at the root (running no traced code) or
 * from an older session. Takes thread_lock; callable without the GIL. */
size_t pg_tracer_published_nodes(uint32_t *nodes, size_t max);

#endif
