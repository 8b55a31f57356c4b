#include "pg_sample.h"

#include <stdio.h>
#include <string.h>

#include "pg_error.h"

static int64_t add_func(pg_profile_t *profile, const char *name, const char *file,
                        uint32_t line, uint32_t kind)
{
    return pg_profile_func_intern(profile, name, strlen(name), file, strlen(file), line,
                                  kind);
}

/* Child of parent running func, with made-up but consistent numbers. */
static int64_t add_node(pg_profile_t *profile, uint32_t parent, int64_t func,
                        uint64_t calls, uint64_t inclusive, uint64_t exclusive)
{
    if (func < 0)
        return func;
    int64_t index = pg_profile_node_child(profile, parent, (uint32_t)func);
    if (index < 0)
        return index;
    pg_node_t *node = &profile->nodes[index];
    node->calls += calls;
    node->exc_exits += calls / 3;
    node->events += 2 * calls;
    node->inclusive += inclusive;
    node->exclusive += exclusive;
    return index;
}

/* Three stages (one auto, one never run), coalesced spans on two threads. */
static int build_stages(pg_stage_table_t *table)
{
    int64_t parse = pg_stage_intern(table, "parse", 5);
    int64_t load = pg_stage_intern(table, "load \xc3\xa9", 7);
    int64_t idle = pg_stage_intern(table, "idle", 4);
    if (parse < 0 || load < 0 || idle < 0)
        return (int)(parse < 0 ? parse : load < 0 ? load : idle);
    pg_stage_t *p = &table->stages[parse];
    p->invocations = 2, p->records_in = 1000, p->records_out = 400, p->bytes = 123456;
    p->exceptions = 1, p->own = 50000, p->upstream = 7000, p->nested = 300;
    p->suspended = 9000, p->wall = 70000, p->cpu_ns = 40000, p->cpu_invocations = 2;
    p->io_read_bytes = 4096, p->io_write_bytes = UINT64_MAX, p->io_invocations = 1;
    p->mem_allocated = 20u << 20, p->mem_activations = 5;
    pg_stage_t *l = &table->stages[load];
    l->flags = PG_STAGE_AUTO, l->invocations = 1, l->records_out = 5, l->own = 1;
    pg_stage_add_latency(table, (uint32_t)parse, 100, 350);
    pg_stage_add_latency(table, (uint32_t)parse, 9000, 1);
    pg_stage_add_latency(table, (uint32_t)load, UINT64_MAX / 8, 1);
    for (uint64_t i = 0; i < 6; i++) {
        pg_stage_span_t span = {.stage = (uint32_t)(i % 2), .thread = 4000 + i % 3,
                                .start = i * 100, .end = i * 100 + 50 + i,
                                .busy = 40, .invocations = 1 + i};
        int rc = pg_stage_span_add(table, &span);
        if (rc < 0)
            return rc;
    }
    table->spans_dropped = 3;
    int64_t removed = pg_stage_spans_coalesce(table);
    return removed < 0 ? (int)removed : PG_OK;
}

static int build_small(pg_profile_t *profile)
{
    profile->run = (pg_run_stats_t){
        .ns_per_unit = 0.3125,
        .event_cost_ns = 21.5,
        .events = 123456,
        .start_epoch_ns = 1700000000123456789ull,
        .duration_ns = 987654321,
        .profiler_memory = 65536,
        .threads = 3,
        .lost_events = 1,
        .unmatched_events = 2,
    };
    int rc = pg_profile_meta_set(profile, "python", "3.12.1");
    if (rc == PG_OK)
        rc = pg_profile_meta_set(profile, "argv", "etl.py --rows 1000");
    if (rc == PG_OK)
        rc = pg_profile_meta_set(profile, "empty", "");
    pg_process_t parent = {.pid = 4242, .role = "main", .state = PG_PROCESS_FINISHED,
                           .start_epoch_ns = 1700000000123456789ull, .duration_ns = 987654321,
                           .events = 100000, .calls = 50000, .busy_ns = 900000000};
    pg_process_t worker = {.pid = 4243, .parent_pid = 4242, .role = "worker (spawn)",
                           .state = PG_PROCESS_LOST, .events = UINT64_MAX, .calls = 1};
    if (rc == PG_OK)
        rc = pg_profile_process_add(profile, &parent);
    if (rc == PG_OK)
        rc = pg_profile_process_add(profile, &worker);
    pg_thread_io_t process = {.tid = 0, .flags = PG_THREAD_IO_PROCESS, .rchar = 1u << 20,
                              .wchar = 52428800, .syscr = 40, .syscw = 800,
                              .write_bytes = 52428800, .hooked_read_bytes = 1000,
                              .hooked_write_bytes = 52428000, .hooked_read_ops = 3,
                              .hooked_write_ops = 790};
    pg_thread_io_t io_worker = {.tid = 4242, .name = "worker-1", .flags = PG_THREAD_IO_EXITED,
                                .rchar = 4096, .syscr = 1, .hooked_read_bytes = 4096,
                                .hooked_read_ops = 1, .hooked_recv_bytes = 10485760,
                                .hooked_recv_ops = 160};
    if (rc == PG_OK)
        rc = pg_profile_thread_io_append(profile, &process);
    if (rc == PG_OK)
        rc = pg_profile_thread_io_append(profile, &io_worker);
    if (rc < 0)
        return rc;
    int64_t main_ = add_func(profile, "main", "etl.py", 1, PG_FUNC_PYTHON);
    int64_t load = add_func(profile, "Loader.load", "etl/io.py", 40, PG_FUNC_PYTHON);
    int64_t walk = add_func(profile, "walk", "etl/tree.py", 7, PG_FUNC_PYTHON);
    int64_t len_ = add_func(profile, "<built-in method builtins.len>", "~", 0,
                            PG_FUNC_BUILTIN);
    int64_t unused = add_func(profile, "never_called", "etl.py", 99, PG_FUNC_PYTHON);
    if (unused < 0)
        return (int)unused;
    int64_t m = add_node(profile, PG_ROOT, main_, 1, 100000, 500);
    int64_t l = m < 0 ? m : add_node(profile, (uint32_t)m, load, 10, 60000, 59000);
    int64_t w1 = m < 0 ? m : add_node(profile, (uint32_t)m, walk, 1, 39000, 1000);
    int64_t w2 = w1 < 0 ? w1 : add_node(profile, (uint32_t)w1, walk, 2, 38000, 37000);
    int64_t b1 = l < 0 ? l : add_node(profile, (uint32_t)l, len_, 1000, 1000, 1000);
    int64_t b2 = w2 < 0 ? w2 : add_node(profile, (uint32_t)w2, len_, 5, 10, 10);
    if (b1 < 0 || b2 < 0)
        return (int)(b1 < 0 ? b1 : b2);
    static const uint64_t values[] = {0, 1, 127, 128, 129, 6000, 6001, 1u << 20,
                                      (uint64_t)1 << 40, UINT64_MAX};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++)
        if ((rc = pg_hist_add(&profile->funcs[load].hist, values[i])) < 0)
            return rc;
    for (uint64_t v = 900; v < 1100; v++)
        if ((rc = pg_hist_add(&profile->funcs[len_].hist, v)) < 0)
            return rc;
    if ((rc = pg_hist_add(&profile->funcs[main_].hist, 100000)) < 0)
        return rc;
    if ((rc = pg_hist_add(&profile->funcs[walk].hist, 38000)) < 0)
        return rc;
    return build_stages(&profile->stages);
}

/* A fixed pseudo-random walk: deep and wide paths, shared functions. */
static int build_wide(pg_profile_t *profile)
{
    uint64_t state = 0x243f6a8885a308d3ull;
    char name[32];
    int64_t funcs[40];
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "mod%d.func%d", i % 7, i);
        funcs[i] = add_func(profile, name, i % 5 ? "pipeline/stage.py" : "~",
                            i % 5 ? (uint32_t)(10 * i) : 0,
                            i % 5 ? PG_FUNC_PYTHON : PG_FUNC_BUILTIN);
        if (funcs[i] < 0)
            return (int)funcs[i];
    }
    uint32_t current = PG_ROOT;
    for (int step = 0; step < 600; step++) {
        state = state * 6364136223846793005ull + 1442695040888963407ull;
        uint32_t pick = (uint32_t)(state >> 33);
        if (pick % 4 == 0 && current != PG_ROOT) {
            current = profile->nodes[current].parent;
            continue;
        }
        int64_t func = funcs[pick % 40];
        uint64_t took = (state >> 20) % 100000;
        int64_t child = add_node(profile, current, func, 1 + pick % 3, took, took / 2);
        if (child < 0)
            return (int)child;
        int rc = pg_hist_add(&profile->funcs[func].hist, took);
        if (rc < 0)
            return rc;
        current = (uint32_t)child;
    }
    return PG_OK;
}

static int build_metrics(pg_profile_t *profile)
{
    int rc = build_small(profile);
    if (rc < 0)
        return rc;
    int64_t alloc = pg_profile_metric_intern(profile, "mem.alloc_bytes", "bytes", PG_METRIC_SUM);
    int64_t peak = pg_profile_metric_intern(profile, "mem.peak_bytes", "bytes", PG_METRIC_MAX);
    int64_t unused = pg_profile_metric_intern(profile, "io.read_ops", "count", PG_METRIC_SUM);
    if (alloc < 0 || peak < 0 || unused < 0)
        return (int)(alloc < 0 ? alloc : peak < 0 ? peak : unused);
    static const uint64_t values[] = {4096, 1, 0, 1u << 20, UINT64_MAX, 77};
    for (uint32_t n = 0; n < profile->node_count; n++) {
        uint64_t v = values[n % (sizeof values / sizeof values[0])];
        if ((rc = pg_profile_metric_charge(profile, (uint32_t)alloc, n, v)) < 0 ||
            (rc = pg_profile_metric_charge(profile, (uint32_t)peak, n, v / 3)) < 0)
            return rc;
    }
    /* Line heat (LINE): rows out of order, a line 0, extreme values. */
    static const pg_line_heat_t lines[] = {
        {.func = 1, .line = 42, .self = 59000, .total = 60000, .hits = 1000},
        {.func = 1, .line = 41, .self = 0, .total = 0, .hits = 10},
        {.func = 0, .line = 3, .self = 500, .total = 100000, .hits = 1},
        {.func = 2, .line = 0, .self = 1, .total = UINT64_MAX, .hits = UINT64_MAX},
        {.func = 2, .line = UINT32_MAX, .self = 7, .total = 7, .hits = 0},
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        if ((rc = pg_profile_line_charge(profile, lines[i].func, lines[i].line, lines[i].self,
                                         lines[i].total, lines[i].hits)) < 0)
            return rc;
    return PG_OK;
}

/* The small profile plus a resource timeline with two GPUs, downsampled
 * once (stride 2) and ending with a partial sample. */
static int build_timeline(pg_profile_t *profile)
{
    int rc = build_small(profile);
    pg_timeline_t *timeline = &profile->timeline;
    if (rc == PG_OK)
        rc = pg_timeline_init(timeline, 8, 50000000);
    if (rc == PG_OK)
        rc = pg_timeline_add_device(timeline, "Fake GPU 0", 16ull << 30);
    if (rc == PG_OK)
        rc = pg_timeline_add_device(timeline, "Fake GPU \xc3\xa9 1", 80ull << 30);
    for (uint64_t i = 0; rc == PG_OK && i < 11; i++) {
        pg_timeline_sample_t sample = {
            .t_ns = i * 50000000 + (i > 6 ? 1000 : 0), /* one gap */
            .dt_ns = 50000000,
            .rss_bytes = (100 + i * i * 7) << 20,
            .threads = 1 + i % 4,
            .cpu_user_ns = 40000000 - i * 1000,
            .cpu_system_ns = i * 12345,
            .read_chars = i << 16,
            .write_chars = UINT32_MAX + i,
            .read_bytes = i % 2 ? 4096 : 0,
            .write_bytes = i * 8192,
        };
        pg_timeline_gpu_t gpu[2] = {
            {.busy_ns = i * 5000000, .memory_bytes = (i + 1) << 28, .process_bytes = i << 27},
            {.busy_ns = 0, .memory_bytes = 1, .process_bytes = 0},
        };
        rc = pg_timeline_add(timeline, &sample, gpu);
    }
    pg_timeline_flush(timeline);
    return rc;
}

int pg_sample_build(pg_profile_t *profile, unsigned variant)
{
    switch (variant) {
    case 0:
        return PG_OK;
    case 1:
        return build_small(profile);
    case 2:
        return build_wide(profile);
    case 3:
        return build_metrics(profile);
    case 4:
        return build_timeline(profile);
    default:
        return PG_ERR_ARG;
    }
}
