/* Pipeline stage counters at run time (see pg_stages.h). */
#include "pg_stages.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg_clock.h"
#include "pg_error.h"
#include "pg_memory.h"

pg_stages_t pg_stages_live = {
    .table = {.span_limit = PG_STAGE_SPAN_LIMIT}, .io_enabled = 1, .cpu_enabled = 1};

/* One thread's activation stack. Owned by the thread; freed by the key
 * destructor at thread exit. */
typedef struct stage_thread {
    pg_stage_frame_t *frames; /* owned */
    uint32_t depth;           /* frames in use */
    uint32_t capacity;
    uint64_t tid;             /* OS thread id, for spans */
    uint64_t io_self;         /* rchar one read of our own /proc file adds */
    int io_calibrated;        /* io_self was measured */
    uint64_t io_last_ns;      /* CLOCK_MONOTONIC of the last I/O measurement */
    uint32_t proxy_depth;     /* depth of the frame whose counting proxy is
                                 pulling now (0: none): stage iterators
                                 pulled meanwhile are not its records too */
} stage_thread_t;

/* Two /proc reads cost tens of microseconds, so a thread measures the I/O
 * of at most one invocation per this many ns; invocations longer than it
 * are all measured, shorter ones are sampled (io_invocations says how
 * many were measured, and reports scale up by invocations/io_invocations). */
#define IO_INTERVAL_NS 10000000u

static __thread stage_thread_t *current_thread;
static pthread_key_t thread_key;
static pthread_once_t thread_key_once = PTHREAD_ONCE_INIT;

static void thread_free(void *value)
{
    stage_thread_t *thread = value;
    if (thread == current_thread)
        current_thread = NULL;
    free(thread->frames);
    free(thread);
}

/* In a forked child only the forking thread lives on, with its stack
 * copied: its cached OS thread id is the parent's and must be renewed, or
 * the child's spans would claim the parent's thread. */
static void after_fork_in_child(void)
{
    if (current_thread)
        current_thread->tid = (uint64_t)pg_procfs_gettid();
}

static void thread_key_create(void)
{
    if (pthread_key_create(&thread_key, thread_free) != 0)
        thread_key = (pthread_key_t)-1;
    pthread_atfork(NULL, NULL, after_fork_in_child);
}

static stage_thread_t *thread_get(void)
{
    stage_thread_t *thread = current_thread;
    if (__builtin_expect(thread != NULL, 1))
        return thread;
    pthread_once(&thread_key_once, thread_key_create);
    thread = calloc(1, sizeof *thread);
    if (!thread)
        return NULL;
    thread->tid = (uint64_t)pg_procfs_gettid();
    if (thread_key != (pthread_key_t)-1)
        pthread_setspecific(thread_key, thread);
    current_thread = thread;
    return thread;
}

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int64_t pg_stages_intern(const char *name, size_t length)
{
    return pg_stage_intern(&pg_stages_live.table, name, length);
}

void pg_stages_reset(uint64_t origin_ticks)
{
    pg_stage_table_t *table = &pg_stages_live.table;
    for (uint32_t i = 0; i < table->count; i++) {
        pg_stage_t *stage = &table->stages[i];
        char *name = stage->name;
        uint32_t length = stage->name_length;
        pg_hist_release(&stage->latency);
        memset(stage, 0, sizeof *stage);
        stage->name = name;
        stage->name_length = length;
        pg_hist_init(&stage->latency);
    }
    table->span_count = 0;
    table->coalesced = 0;
    table->spans_dropped = 0;
    table->lost = 0;
    pg_stages_live.origin = origin_ticks;
    pg_stages_live.generation++;
    pg_stages_live.unmatched = 0;
    pg_stages_live.lost = 0;
}

/* Reading /proc/.../io is itself a read: its bytes show up in rchar.
 * Measure once per thread how many, to take them out of every delta. */
static void calibrate_io(stage_thread_t *thread)
{
    pg_proc_io_t first, second;
    thread->io_calibrated = 1;
    if (pg_procfs_thread_io(0, &first) == PG_OK && pg_procfs_thread_io(0, &second) == PG_OK)
        thread->io_self = second.rchar - first.rchar;
}

uint32_t pg_stages_push(uint32_t stage, uint32_t flags)
{
    stage_thread_t *thread = thread_get();
    if (!thread) {
        pg_stages_live.lost++;
        return 0;
    }
    if (thread->depth == thread->capacity) {
        uint32_t grown = thread->capacity ? thread->capacity * 2 : 16;
        pg_stage_frame_t *frames = realloc(thread->frames, grown * sizeof *frames);
        if (!frames || grown <= thread->capacity) {
            pg_stages_live.lost++;
            return 0;
        }
        thread->frames = frames;
        thread->capacity = grown;
    }
    pg_stage_frame_t *frame = &thread->frames[thread->depth++];
    memset(frame, 0, sizeof *frame);
    frame->stage = stage;
    frame->flags = flags;
    if (flags & PG_STAGE_FRAME_IO && pg_stages_live.io_enabled) {
        uint64_t now_ns = pg_clock_monotonic_ns();
        if (now_ns - thread->io_last_ns >= IO_INTERVAL_NS) {
            thread->io_last_ns = now_ns;
            if (!thread->io_calibrated)
                calibrate_io(thread);
            frame->io_ok = pg_procfs_thread_io(0, &frame->io_start) == PG_OK;
        }
    }
    if (flags & PG_STAGE_FRAME_CPU && pg_stages_live.cpu_enabled)
        frame->cpu_start = thread_cpu_ns();
    if (pg_memory_counting()) {
        frame->mem_ok = 1;
        frame->mem_start = pg_memory_thread_allocated();
    }
    frame->start = pg_clock_ticks(); /* last: the bookkeeping is not the stage's */
    return thread->depth;
}

/* The nearest enclosing frame that measures CPU (or I/O), or NULL. */
static pg_stage_frame_t *measured_parent(stage_thread_t *thread, uint32_t flag)
{
    for (uint32_t i = thread->depth; i-- > 0;)
        if (thread->frames[i].flags & flag)
            return &thread->frames[i];
    return NULL;
}

/* The nearest enclosing frame whose I/O is being measured, or NULL. */
static pg_stage_frame_t *measured_io_parent(stage_thread_t *thread)
{
    for (uint32_t i = thread->depth; i-- > 0;)
        if (thread->frames[i].io_ok)
            return &thread->frames[i];
    return NULL;
}

/* Bytes the thread allocated in the frame, exclusive of the frames inside
 * it (every frame reads the counter, so the parent is the frame below). */
static void charge_memory(stage_thread_t *thread, const pg_stage_frame_t *frame,
                          pg_stage_t *stage)
{
    uint64_t used = pg_memory_thread_allocated() - frame->mem_start;
    if (used > (UINT64_MAX >> 1))
        used = 0; /* the counter went back: a new thread state */
    stage->mem_allocated += used > frame->mem_children ? used - frame->mem_children : 0;
    stage->mem_activations++;
    if (thread->depth)
        thread->frames[thread->depth - 1].mem_children += used;
}

/* CPU and I/O of a measured frame, exclusive of measured frames inside. */
static void charge_resources(stage_thread_t *thread, const pg_stage_frame_t *frame)
{
    pg_stage_t *stage = &pg_stages_live.table.stages[frame->stage];
    if (frame->flags & PG_STAGE_FRAME_CPU && pg_stages_live.cpu_enabled && frame->cpu_start) {
        uint64_t used = thread_cpu_ns() - frame->cpu_start;
        stage->cpu_ns += used > frame->cpu_children ? used - frame->cpu_children : 0;
        stage->cpu_invocations++;
        pg_stage_frame_t *parent = measured_parent(thread, PG_STAGE_FRAME_CPU);
        if (parent)
            parent->cpu_children += used;
    }
    if (frame->io_ok) {
        pg_proc_io_t now;
        if (pg_procfs_thread_io(0, &now) != PG_OK)
            return;
        /* now - start holds our own start read, and the children's
         * deltas plus their end reads (io_children_read). */
        uint64_t read = now.rchar - frame->io_start.rchar;
        uint64_t written = now.wchar - frame->io_start.wchar;
        uint64_t overhead = frame->io_children_read + thread->io_self;
        stage->io_read_bytes += read > overhead ? read - overhead : 0;
        stage->io_write_bytes +=
            written > frame->io_children_write ? written - frame->io_children_write : 0;
        stage->io_invocations++;
        pg_stage_frame_t *parent = measured_io_parent(thread);
        if (parent) {
            parent->io_children_read += read + thread->io_self;
            parent->io_children_write += written;
        }
    }
}

void pg_stages_pop(uint32_t depth, uint64_t now, int is_pull, int produced,
                   pg_stage_done_t *done)
{
    memset(done, 0, sizeof *done);
    stage_thread_t *thread = current_thread;
    if (!thread || depth == 0 || depth > thread->depth)
        return;
    pg_stage_frame_t *frame = &thread->frames[depth - 1];
    /* Frames above ours were left open (a with-block spanning a yield):
     * their own time stays in ours, their pulled records and waits become
     * ours. */
    for (uint32_t i = depth; i < thread->depth; i++) {
        frame->pulled += thread->frames[i].pulled;
        frame->upstream += thread->frames[i].upstream;
        frame->nested += thread->frames[i].nested;
    }
    pg_stages_live.unmatched += thread->depth - depth;
    thread->depth = depth - 1;
    uint64_t active = now > frame->start ? now - frame->start : 0;
    uint64_t waited = frame->upstream + frame->nested;
    done->active = active;
    done->own = active > waited ? active - waited : 0;
    done->pulled = frame->pulled;
    done->explicit_in = frame->explicit_in;
    done->explicit_out = frame->explicit_out;
    done->bytes = frame->bytes;
    done->has_explicit = frame->has_explicit;
    if (frame->stage < pg_stages_live.table.count) {
        pg_stage_t *stage = &pg_stages_live.table.stages[frame->stage];
        stage->own += done->own;
        stage->upstream += frame->upstream;
        stage->nested += frame->nested;
        if (frame->flags & PG_STAGE_FRAME_CPU || frame->io_ok)
            charge_resources(thread, frame);
        if (frame->mem_ok && pg_memory_counting())
            charge_memory(thread, frame, stage);
    }
    if (thread->depth) {
        pg_stage_frame_t *parent = &thread->frames[thread->depth - 1];
        if (is_pull) {
            parent->upstream += active;
            if (thread->proxy_depth != thread->depth)
                parent->pulled += (uint64_t)(produced != 0);
        } else {
            parent->nested += active;
        }
    }
}

pg_stage_frame_t *pg_stages_innermost(uint32_t stage)
{
    uint32_t depth = stage == UINT32_MAX ? (current_thread ? current_thread->depth : 0)
                                         : pg_stages_depth_of(stage);
    return depth ? &current_thread->frames[depth - 1] : NULL;
}

uint32_t pg_stages_depth_of(uint32_t stage)
{
    stage_thread_t *thread = current_thread;
    if (!thread)
        return 0;
    for (uint32_t i = thread->depth; i-- > 0;)
        if (thread->frames[i].stage == stage)
            return i + 1;
    return 0;
}

uint32_t pg_stages_proxy_begin(void)
{
    stage_thread_t *thread = thread_get();
    if (!thread)
        return 0;
    uint32_t previous = thread->proxy_depth;
    thread->proxy_depth = thread->depth;
    return previous;
}

void pg_stages_proxy_end(uint32_t previous, int produced)
{
    stage_thread_t *thread = current_thread;
    if (!thread)
        return;
    thread->proxy_depth = previous;
    if (produced && thread->depth)
        thread->frames[thread->depth - 1].pulled++;
}

static uint64_t since_origin(uint64_t ticks)
{
    return ticks > pg_stages_live.origin ? ticks - pg_stages_live.origin : 0;
}

static void add_span(uint32_t stage, uint64_t thread, uint64_t first, uint64_t last,
                     uint64_t busy, uint64_t invocations)
{
    pg_stage_span_t span = {.stage = stage, .thread = thread, .start = since_origin(first),
                            .end = since_origin(last), .invocations = invocations};
    uint64_t length = span.end - span.start;
    span.busy = busy < length ? busy : length;
    (void)pg_stage_span_add(&pg_stages_live.table, &span);
}

void pg_stages_finish_call(uint32_t stage, const pg_stage_done_t *done, uint64_t records_in,
                           uint64_t records_out, int exception)
{
    if (stage >= pg_stages_live.table.count)
        return;
    pg_stage_t *s = &pg_stages_live.table.stages[stage];
    if (done->has_explicit) {
        records_in = done->explicit_in;
        records_out = done->explicit_out;
    }
    s->invocations++;
    s->records_in += records_in;
    s->records_out += records_out;
    s->bytes += done->bytes;
    s->exceptions += (uint64_t)(exception != 0);
    s->wall += done->active;
    /* Per-record latency of a call: its own time shared by its records. */
    uint64_t records = records_out ? records_out : records_in;
    if (records)
        pg_stage_add_latency(&pg_stages_live.table, stage, done->own / records, records);
    uint64_t now = pg_clock_ticks();
    stage_thread_t *thread = current_thread;
    add_span(stage, thread ? thread->tid : 0, now - done->active, now, done->own, 1);
}

void pg_stages_invocation_resume(pg_stage_invocation_t *inv, uint64_t now)
{
    if (inv->state == 0) {
        inv->state = 1;
        inv->first = inv->last = now;
        inv->generation = pg_stages_live.generation;
        stage_thread_t *thread = thread_get();
        inv->thread = thread ? thread->tid : 0;
        if (inv->stage < pg_stages_live.table.count)
            pg_stages_live.table.stages[inv->stage].invocations++;
        return;
    }
    if (inv->state == 1 && inv->generation == pg_stages_live.generation &&
        inv->stage < pg_stages_live.table.count && now > inv->last)
        pg_stages_live.table.stages[inv->stage].suspended += now - inv->last;
}

void pg_stages_invocation_after(pg_stage_invocation_t *inv, const pg_stage_done_t *done,
                                uint64_t now, int produced)
{
    inv->last = now;
    inv->busy += done->own;
    inv->since_record += done->own;
    if (inv->generation != pg_stages_live.generation || inv->stage >= pg_stages_live.table.count)
        return;
    pg_stage_t *stage = &pg_stages_live.table.stages[inv->stage];
    stage->records_in += done->pulled;
    stage->bytes += done->bytes;
    if (done->has_explicit) {
        stage->records_in += done->explicit_in;
        stage->records_out += done->explicit_out;
    }
    if (produced) {
        stage->records_out++;
        pg_stage_add_latency(&pg_stages_live.table, inv->stage, inv->since_record, 1);
        inv->since_record = 0;
    }
}

void pg_stages_invocation_finish(pg_stage_invocation_t *inv, int exception)
{
    if (inv->state != 1)
        return;
    inv->state = 2;
    if (inv->generation != pg_stages_live.generation || inv->stage >= pg_stages_live.table.count)
        return;
    pg_stage_t *stage = &pg_stages_live.table.stages[inv->stage];
    stage->exceptions += (uint64_t)(exception != 0);
    stage->wall += inv->last - inv->first;
    add_span(inv->stage, inv->thread, inv->first, inv->last, inv->busy, 1);
}

void pg_stages_invocation_records(pg_stage_invocation_t *inv, uint64_t records_in,
                                  uint64_t records_out)
{
    if (inv->generation != pg_stages_live.generation || inv->stage >= pg_stages_live.table.count)
        return;
    pg_stage_t *stage = &pg_stages_live.table.stages[inv->stage];
    stage->records_in += records_in;
    stage->records_out += records_out;
    uint64_t records = records_out ? records_out : records_in;
    if (records)
        pg_stage_add_latency(&pg_stages_live.table, inv->stage, inv->busy / records, records);
}

int pg_stages_copy(pg_stage_table_t *dst)
{
    const pg_stage_table_t *live = &pg_stages_live.table;
    pg_stage_table_init(dst);
    dst->span_limit = live->span_limit;
    /* Stages that did nothing this run are left out; span indexes follow. */
    uint32_t *map = malloc((live->count ? live->count : 1) * sizeof *map);
    if (!map)
        return PG_ERR_NOMEM;
    int rc = PG_OK;
    for (uint32_t i = 0; i < live->count && rc == PG_OK; i++) {
        const pg_stage_t *from = &live->stages[i];
        map[i] = UINT32_MAX;
        if (from->invocations == 0 && from->records_out == 0 && from->own == 0)
            continue;
        int64_t index = pg_stage_append(dst, from->name, from->name_length);
        if (index < 0) {
            rc = (int)index;
            break;
        }
        pg_stage_t *to = &dst->stages[index];
        char *name = to->name;
        *to = *from;
        to->name = name;
        pg_hist_init(&to->latency);
        rc = pg_hist_merge(&to->latency, &from->latency);
        map[i] = (uint32_t)index;
    }
    for (uint32_t i = 0; i < live->span_count && rc == PG_OK; i++) {
        pg_stage_span_t span = live->spans[i];
        if (map[span.stage] == UINT32_MAX)
            continue;
        span.stage = map[span.stage];
        rc = pg_stage_span_add(dst, &span);
    }
    dst->coalesced = live->coalesced;
    dst->spans_dropped = live->spans_dropped;
    /* Activations lost to memory and with-blocks closed out of order both
     * mean incomplete stage counts: one counter in the file. */
    dst->lost = live->lost + pg_stages_live.lost + pg_stages_live.unmatched;
    free(map);
    if (rc < 0)
        pg_stage_table_release(dst);
    return rc;
}

uint64_t pg_stages_memory(void)
{
    uint64_t bytes = pg_stage_table_memory(&pg_stages_live.table);
    if (current_thread)
        bytes += sizeof *current_thread +
                 (uint64_t)current_thread->capacity * sizeof(pg_stage_frame_t);
    return bytes;
}
