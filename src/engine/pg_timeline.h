/* The resource timeline: process figures (RSS, CPU, I/O, threads) and GPU
 * figures sampled at a fixed rate, kept in a bounded buffer.
 *
 * Each stored sample covers an interval [t_ns, t_ns + dt_ns) of the run.
 * Figures are of two kinds, and merging two adjacent samples keeps both
 * meaningful:
 * - amounts over the interval (CPU ns, I/O bytes, GPU busy ns): summed, so
 *   a rate is amount / dt_ns and the total over the run is unchanged;
 * - levels (RSS, threads, GPU memory): the maximum seen, so a peak is never
 *   averaged away.
 *
 * Bounded memory: the buffer holds at most `capacity` samples. When it is
 * full, adjacent pairs are merged (half the samples, each twice as long)
 * and from then on `stride` raw samples are gathered into each stored one,
 * so stored samples keep equal lengths (except the last, which may be
 * partial) and memory never grows with the run length.
 *
 * GPU figures are per device: gpu[i * gpu_count + d] belongs to samples[i]
 * and device d. The device list is fixed before the first sample.
 *
 * Invariants: count <= capacity; samples are in time order and do not
 * overlap (t_ns[i] + dt_ns[i] <= t_ns[i + 1]); gpu_count <= PG_TIMELINE_MAX_GPUS.
 * Not thread-safe: the sampler thread owns a live timeline until it is
 * joined; afterwards whoever holds the profile does.
 */
#ifndef PG_TIMELINE_H
#define PG_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#define PG_TIMELINE_MAX_GPUS 16
#define PG_TIMELINE_DEFAULT_CAPACITY 4096

typedef struct pg_timeline_sample {
    uint64_t t_ns;          /* interval start, ns since the run started */
    uint64_t dt_ns;         /* interval length, ns (> 0) */
    uint64_t rss_bytes;     /* level: highest resident set size seen */
    uint64_t threads;       /* level: most threads seen */
    uint64_t cpu_user_ns;   /* amount: user CPU time, all threads */
    uint64_t cpu_system_ns; /* amount: system CPU time, all threads */
    uint64_t read_chars;    /* amount: bytes read by read-like syscalls */
    uint64_t write_chars;   /* amount: bytes written by write-like syscalls */
    uint64_t read_bytes;    /* amount: bytes fetched from storage */
    uint64_t write_bytes;   /* amount: bytes sent to storage */
} pg_timeline_sample_t;

typedef struct pg_timeline_gpu {
    uint64_t busy_ns;       /* amount: utilisation x interval (100% = dt_ns) */
    uint64_t memory_bytes;  /* level: device memory in use, all processes */
    uint64_t process_bytes; /* level: device memory used by this process */
} pg_timeline_gpu_t;

typedef struct pg_timeline_device {
    char *name;            /* owned, NUL-terminated */
    uint64_t memory_total; /* bytes */
} pg_timeline_device_t;

typedef struct pg_timeline {
    pg_timeline_sample_t *samples; /* owned, capacity entries */
    pg_timeline_gpu_t *gpu;        /* owned, capacity * gpu_count entries */
    uint32_t count;                /* samples stored */
    uint32_t capacity;             /* even, >= 2; 0 = no timeline */
    uint32_t stride;               /* raw samples per stored sample */
    uint64_t interval_ns;          /* the sampler's period */
    pg_timeline_device_t devices[PG_TIMELINE_MAX_GPUS]; /* names owned */
    uint32_t gpu_count;
    /* The stored sample being gathered: pending_raw raw samples so far. */
    pg_timeline_sample_t pending;
    pg_timeline_gpu_t pending_gpu[PG_TIMELINE_MAX_GPUS];
    uint32_t pending_raw;
} pg_timeline_t;

/* A timeline with room for capacity samples (rounded up to even, at least
 * 2) taken every interval_ns. 0 or PG_ERR_NOMEM / PG_ERR_ARG. */
int pg_timeline_init(pg_timeline_t *timeline, uint32_t capacity, uint64_t interval_ns);
/* Free everything; the timeline is all-zero afterwards ("none"). */
void pg_timeline_release(pg_timeline_t *timeline);
/* 1 when it holds a timeline (initialised, possibly empty). */
static inline int pg_timeline_present(const pg_timeline_t *timeline)
{
    return timeline->capacity != 0;
}

/* Declare a device (before the first sample). Copies name. */
int pg_timeline_add_device(pg_timeline_t *timeline, const char *name, uint64_t memory_total);

/* Add one raw sample (and gpu_count GPU figures, or NULL when gpu_count is
 * 0). Its t_ns must not precede the end of the previous one. Never
 * allocates. 0 or PG_ERR_ARG. */
int pg_timeline_add(pg_timeline_t *timeline, const pg_timeline_sample_t *sample,
                    const pg_timeline_gpu_t *gpu);
/* Store the partial pending sample, if any (at the end of a run). */
void pg_timeline_flush(pg_timeline_t *timeline);

/* Merge b (which follows a) into a; gpu figures likewise for n devices. */
void pg_timeline_merge(pg_timeline_sample_t *a, const pg_timeline_sample_t *b);
void pg_timeline_merge_gpu(pg_timeline_gpu_t *a, const pg_timeline_gpu_t *b, uint32_t n);

/* Deep copy (dst uninitialised). A pending partial sample is stored in the
 * copy, so a snapshot sees everything sampled so far. */
int pg_timeline_copy(pg_timeline_t *dst, const pg_timeline_t *src);
uint64_t pg_timeline_memory(const pg_timeline_t *timeline);

/* Per-node charges gathered by the sampler without the GIL, applied to the
 * profile later: a dense array indexed by call-tree node. */
typedef struct pg_node_charges {
    uint64_t *busy_ns;   /* owned: GPU busy ns charged to each node */
    uint64_t *max_bytes; /* owned: highest GPU memory seen while it ran */
    uint32_t size;       /* entries in both arrays */
} pg_node_charges_t;

void pg_node_charges_release(pg_node_charges_t *charges);
/* Charge node busy ns and a memory level; grows as needed. 0 or PG_ERR_NOMEM. */
int pg_node_charges_add(pg_node_charges_t *charges, uint32_t node, uint64_t busy_ns,
                        uint64_t bytes);

#endif
