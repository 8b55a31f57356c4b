#include "pg_tracer.h"
#include "pg_stages.h"

#include <stdlib.h>
#include <string.h>

#include "pg_cpu.h"
#include "pg_error.h"
#include "pg_memory.h"
#include "pg_sampler.h"
#include "pg_io.h"
#include "pg_linetrace.h"

pg_tracer_t pg_tracer = {.extra_index = -1};

__thread pg_thread_t *pg_thread_current __attribute__((tls_model("initial-exec")));

/* All pg_thread_t ever attached and not yet destroyed. thread_lock protects
 * the list links only; frames are protected by the GIL. */
static pthread_mutex_t thread_lock = PTHREAD_MUTEX_INITIALIZER;
static pg_thread_t *thread_list;
static pthread_key_t thread_key;
static pthread_once_t thread_key_once = PTHREAD_ONCE_INIT;
static uint64_t threads_seen; /* threads attached this session (GIL) */

/* Runs at OS-thread exit, without the GIL: unlink and free this thread's
 * stack. The profile is not touched, so no GIL is needed. */
static void thread_destroy(void *pointer)
{
    pg_thread_t *thread = pointer;
    if (thread->generation == pg_tracer.generation && pg_io_active())
        pg_io_thread_exit(thread); /* its I/O totals outlive it */
    pthread_mutex_lock(&thread_lock);
    pg_cpu_thread_detach(thread);
    if (thread->prev)
        thread->prev->next = thread->next;
    else
        thread_list = thread->next;
    if (thread->next)
        thread->next->prev = thread->prev;
    pthread_mutex_unlock(&thread_lock);
    if (pg_thread_current == thread)
        pg_thread_current = NULL;
    PG_SIGNAL_FENCE(); /* a late signal or allocation sees NULL, not freed memory */
    free(thread->frames);
    free(thread);
}

static void thread_key_create(void)
{
    pthread_key_create(&thread_key, thread_destroy);
}

static void thread_reset(pg_thread_t *thread)
{
    thread->depth = 0;
    thread->generation = pg_tracer.generation;
    thread->root_cached_func = PG_NONE;
    thread->root_acc_mask = 0;
    thread->mem_live = 0;
    __atomic_store_n(&thread->published_node, PG_ROOT, __ATOMIC_RELAXED);
    memset(thread->io_hooked, 0, sizeof thread->io_hooked);
    threads_seen++;
    pg_cpu_thread_attach(thread); /* runs on the thread itself */
}

pg_thread_t *pg_thread_attach(void)
{
    pg_thread_t *thread = pg_thread_current;
    if (thread) {
        thread_reset(thread);
        return thread;
    }
    pthread_once(&thread_key_once, thread_key_create);
    thread = calloc(1, sizeof *thread);
    if (!thread)
        return NULL;
    thread->capacity = 64;
    thread->tid = pg_procfs_gettid();
    thread->frames = malloc(thread->capacity * sizeof *thread->frames);
    if (!thread->frames) {
        free(thread);
        return NULL;
    }
    pthread_mutex_lock(&thread_lock);
    thread->next = thread_list;
    if (thread_list)
        thread_list->prev = thread;
    thread_list = thread;
    pthread_mutex_unlock(&thread_lock);
    pthread_setspecific(thread_key, thread);
    pg_thread_current = thread;
    thread_reset(thread);
    return thread;
}

int pg_thread_grow(pg_thread_t *thread)
{
    uint32_t capacity = thread->capacity * 2;
    if (capacity > (1u << 24)) /* 16M frames: far past any recursion limit */
        return PG_ERR_LIMIT;
    /* A new array, copied, published, then the old one freed: never
     * realloc in place, since this thread's signal handler may be reading
     * the old array at any instruction. */
    pg_frame_t *frames = malloc(capacity * sizeof *frames);
    if (!frames)
        return PG_ERR_NOMEM;
    pg_frame_t *old = thread->frames;
    memcpy(frames, old, thread->capacity * sizeof *frames);
    PG_SIGNAL_FENCE();
    thread->frames = frames;
    PG_SIGNAL_FENCE();
    thread->capacity = capacity;
    free(old);
    return PG_OK;
}

uint32_t pg_tracer_child_slow(pg_thread_t *thread, uint32_t func)
{
    uint32_t parent = PG_ROOT;
    if (thread->depth) {
        parent = thread->frames[thread->depth - 1].node;
        if (parent == PG_NONE)
            return PG_NONE;
    }
    int64_t node = pg_profile_node_child(&pg_tracer.profile, parent, func);
    if (node < 0) {
        pg_tracer.lost++;
        return PG_NONE;
    }
    if (thread->depth) {
        thread->frames[thread->depth - 1].cached_func = func;
        thread->frames[thread->depth - 1].cached_node = (uint32_t)node;
    } else {
        thread->root_cached_func = func;
        thread->root_cached_node = (uint32_t)node;
    }
    return (uint32_t)node;
}

int pg_tracer_pop_deep(pg_thread_t *thread, const void *key, uint64_t now, int by_exception)
{
    /* Look a bounded distance down: a deeper match means the frames above
     * it exited without an event we saw (their exits count as exceptions). */
    uint32_t limit = thread->depth < 16 ? thread->depth : 16;
    for (uint32_t i = 1; i <= limit; i++) {
        if (thread->frames[thread->depth - i].key != key)
            continue;
        while (--i > 0) {
            pg_tracer.unmatched++;
            pg_tracer_pop(thread, now, 1);
        }
        pg_tracer_pop(thread, now, by_exception);
        return 1;
    }
    return 0;
}

/* Metric of each accumulator slot (pg_acc_slot_t order); NULL name: the
 * slot has no metric of its own. */
static const struct {
    const char *name;
    const char *unit;
    pg_metric_merge_t merge;
} acc_slots[PG_ACC_COUNT] = {
    [PG_ACC_IO_READ_BYTES] = {"io.read_bytes", "bytes", PG_METRIC_SUM},
    [PG_ACC_IO_WRITE_BYTES] = {"io.write_bytes", "bytes", PG_METRIC_SUM},
    [PG_ACC_IO_READ_OPS] = {"io.read_ops", "count", PG_METRIC_SUM},
    [PG_ACC_IO_WRITE_OPS] = {"io.write_ops", "count", PG_METRIC_SUM},
    [PG_ACC_IO_NS] = {"io.ns", "ns", PG_METRIC_SUM},
    [PG_ACC_MEM_ALLOC_BYTES] = {"mem.alloc_bytes", "bytes", PG_METRIC_SUM},
    [PG_ACC_MEM_ALLOC_COUNT] = {"mem.alloc_count", "count", PG_METRIC_SUM},
    [PG_ACC_MEM_FREED_BYTES] = {"mem.freed_bytes", "bytes", PG_METRIC_SUM},
    [PG_ACC_MEM_ENTRY] = {NULL, NULL, PG_METRIC_SUM},
    [PG_ACC_MEM_PEAK] = {"mem.peak_bytes", "bytes", PG_METRIC_MAX},
    [PG_ACC_CPU_NS] = {"cpu.ns", "ns", PG_METRIC_SUM},
};

/* Intern the metrics of the enabled slots in the live profile. */
static int acc_intern(void)
{
    for (unsigned slot = 0; slot < PG_ACC_COUNT; slot++) {
        pg_tracer.acc_metric[slot] = PG_NONE;
        if (!(pg_tracer.acc_enabled & (1u << slot)) || !acc_slots[slot].name)
            continue;
        int64_t metric = pg_profile_metric_intern(&pg_tracer.profile, acc_slots[slot].name,
                                                  acc_slots[slot].unit, acc_slots[slot].merge);
        if (metric < 0)
            return (int)metric;
        pg_tracer.acc_metric[slot] = (uint32_t)metric;
    }
    return PG_OK;
}

int pg_tracer_acc_enable(uint32_t slots)
{
    pg_tracer.acc_enabled |= slots & ((1u << PG_ACC_COUNT) - 1);
    return acc_intern();
}

/* Charge accumulators (acc, mask) to node; levels go up to parent_acc
 * (NULL at the root). */
static void acc_charge(uint64_t *acc, uint32_t mask, uint32_t node, uint64_t *parent_acc,
                       uint32_t *parent_mask)
{
    pg_profile_t *profile = &pg_tracer.profile;
    uint32_t level_bit = 1u << PG_ACC_MEM_ENTRY;
    if (mask & level_bit) {
        int64_t entry = (int64_t)acc[PG_ACC_MEM_ENTRY], peak = (int64_t)acc[PG_ACC_MEM_PEAK];
        acc[PG_ACC_MEM_PEAK] = peak > entry ? (uint64_t)(peak - entry) : 0;
        if (parent_acc && !(*parent_mask & level_bit)) {
            /* nothing happened in the parent since its entry: same level */
            parent_acc[PG_ACC_MEM_ENTRY] = (uint64_t)entry;
            parent_acc[PG_ACC_MEM_PEAK] = (uint64_t)peak;
            *parent_mask |= level_bit | (1u << PG_ACC_MEM_PEAK);
        } else if (parent_acc && peak > (int64_t)parent_acc[PG_ACC_MEM_PEAK]) {
            parent_acc[PG_ACC_MEM_PEAK] = (uint64_t)peak;
        }
    }
    if (node == PG_NONE)
        return;
    for (unsigned slot = 0; mask; slot++, mask >>= 1) {
        uint32_t metric = pg_tracer.acc_metric[slot];
        if (!(mask & 1) || metric == PG_NONE)
            continue;
        pg_metric_t *m = &profile->metrics[metric];
        m->values[node] = pg_metric_combine(m->merge, m->values[node], acc[slot]);
    }
}

void pg_tracer_acc_flush(pg_thread_t *thread, pg_frame_t *frame)
{
    uint32_t mask = frame->acc_mask;
    frame->acc_mask = 0;
    uint32_t *parent_mask;
    uint64_t *parent_acc;
    if (thread->depth) {
        parent_acc = thread->frames[thread->depth - 1].acc;
        parent_mask = &thread->frames[thread->depth - 1].acc_mask;
    } else {
        parent_acc = thread->root_acc;
        parent_mask = &thread->root_acc_mask;
    }
    acc_charge(frame->acc, mask, frame->node, parent_acc, parent_mask);
}

void pg_tracer_acc_flush_root(pg_thread_t *thread)
{
    uint32_t mask = thread->root_acc_mask;
    thread->root_acc_mask = 0;
    acc_charge(thread->root_acc, mask, PG_ROOT, NULL, NULL);
}

void pg_filter_release(pg_filter_t *filter)
{
    char **lists[] = {filter->collapse_prefixes, filter->module_roots, filter->ignore_globs};
    size_t counts[] = {filter->collapse_count, filter->root_count, filter->ignore_count};
    for (int l = 0; l < 3; l++) {
        for (size_t i = 0; i < counts[l]; i++)
            free(lists[l][i]);
        free(lists[l]);
    }
    memset(filter, 0, sizeof *filter);
}

static void session_clock_start(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    pg_tracer.start_epoch_ns = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
    pg_tracer.start_mark = pg_clock_mark();
}

int pg_tracer_reset(void)
{
    pg_profile_t fresh;
    int rc = pg_profile_init(&fresh);
    if (rc < 0)
        return rc;
    pg_profile_release(&pg_tracer.profile);
    pg_tracer.profile = fresh;
    pg_tracer.generation++;
    pg_tracer.events = pg_tracer.lost = pg_tracer.unmatched = 0;
    threads_seen = 0;
    session_clock_start();
    pg_stages_reset(pg_tracer.start_mark.ticks); /* a run's stages start with it */
    return acc_intern();
}

int pg_tracer_begin(int builtins, int exact_builtins, pg_filter_t *filter)
{
    pg_profile_t fresh;
    int rc = pg_profile_init(&fresh);
    if (rc < 0)
        return rc;
    pg_profile_release(&pg_tracer.profile);
    pg_tracer.profile = fresh;
    pg_filter_release(&pg_tracer.filter);
    pg_tracer.filter = *filter;
    memset(filter, 0, sizeof *filter);
    pg_tracer.builtins = builtins;
    pg_tracer.exact_builtins = exact_builtins;
    pg_tracer.acc_enabled = 0;
    for (unsigned slot = 0; slot < PG_ACC_COUNT; slot++)
        pg_tracer.acc_metric[slot] = PG_NONE;
    pg_tracer.generation++;
    pg_tracer.events = pg_tracer.lost = pg_tracer.unmatched = 0;
    threads_seen = 0;
    pg_clock_init();
    session_clock_start();
    pg_tracer.active = 1;
    return PG_OK;
}

/* Close the frames still open in every thread as if they returned now, as
 * cProfile does at disable: their time so far is real time spent. */
static void close_open_frames(uint64_t now)
{
    pthread_mutex_lock(&thread_lock);
    for (pg_thread_t *thread = thread_list; thread; thread = thread->next) {
        pg_cpu_thread_detach(thread);
        if (thread->generation != pg_tracer.generation)
            continue;
        while (thread->depth)
            pg_tracer_pop(thread, now, 0);
        pg_tracer_acc_flush_root(thread);
    }
    pthread_mutex_unlock(&thread_lock);
}

size_t pg_tracer_published_nodes(uint32_t *nodes, size_t max)
{
    /* generation changes only under the GIL, which the caller lacks: a
     * stale read at a session boundary only skips or keeps one tick. */
    uint64_t generation = __atomic_load_n(&pg_tracer.generation, __ATOMIC_RELAXED);
    size_t n = 0;
    pthread_mutex_lock(&thread_lock);
    for (pg_thread_t *thread = thread_list; thread && n < max; thread = thread->next) {
        uint32_t node = __atomic_load_n(&thread->published_node, __ATOMIC_RELAXED);
        if (__atomic_load_n(&thread->generation, __ATOMIC_RELAXED) == generation &&
            node != PG_ROOT && node != PG_NONE)
            nodes[n++] = node;
    }
    pthread_mutex_unlock(&thread_lock);
    return n;
}

void pg_tracer_threads_visit(void (*visit)(const pg_thread_t *thread, void *data), void *data)
{
    pthread_mutex_lock(&thread_lock);
    for (pg_thread_t *thread = thread_list; thread; thread = thread->next)
        visit(thread, data);
    pthread_mutex_unlock(&thread_lock);
}

uint64_t pg_tracer_memory(void)
{
    uint64_t bytes = pg_profile_memory(&pg_tracer.profile) + pg_codemap_memory() +
                     pg_backend_memory() + pg_stages_memory() + pg_memory_overhead() +
                     pg_linetrace_memory();
    pthread_mutex_lock(&thread_lock);
    for (pg_thread_t *thread = thread_list; thread; thread = thread->next)
        bytes += sizeof *thread + (uint64_t)thread->capacity * sizeof(pg_frame_t);
    pthread_mutex_unlock(&thread_lock);
    return bytes;
}

int pg_tracer_end(pg_profile_t *out)
{
    pg_profile_t fresh;
    int rc = pg_profile_init(&fresh);
    if (rc < 0)
        return rc;
    pg_clock_mark_t end = pg_clock_mark();
    uint64_t end_ns = end.ns; /* before calibration may move end */
    close_open_frames(end.ticks);
    pg_tracer.active = 0;
    pg_run_stats_t *run = &pg_tracer.profile.run;
    run->ns_per_unit = pg_clock_ns_per_tick(&end);
    run->event_cost_ns = pg_tracer.event_cost_ticks * run->ns_per_unit;
    run->events = pg_tracer.events;
    run->start_epoch_ns = pg_tracer.start_epoch_ns;
    run->duration_ns = end_ns - pg_tracer.start_mark.ns;
    run->profiler_memory = pg_tracer_memory();
    run->threads = threads_seen;
    run->lost_events = pg_tracer.lost;
    run->unmatched_events = pg_tracer.unmatched;
    pg_stage_table_release(&pg_tracer.profile.stages);
    if (pg_stages_copy(&pg_tracer.profile.stages) < 0)
        pg_tracer.profile.stages.lost++; /* the run keeps its call tree */
    *out = pg_tracer.profile;
    pg_tracer.profile = fresh;
    pg_tracer.generation++; /* stacks and code-map entries are now stale */
    return PG_OK;
}
