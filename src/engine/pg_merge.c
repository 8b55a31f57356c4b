/* pg_profile_merge: see pg_merge.h. */
#include "pg_merge.h"

#include <stdlib.h>
#include <string.h>

#include "pg_error.h"

/* State shared by the merge steps of one pg_profile_merge call. */
typedef struct merge {
    pg_profile_t *dst;
    const pg_profile_t *src;
    double scale;       /* src units -> dst units */
    uint32_t *func_map; /* owned: src function index -> dst function index */
    uint32_t *node_map; /* owned: src node index -> dst node index (merge_nodes) */
} merge_t;

static uint64_t scaled(const merge_t *merge, uint64_t value)
{
    if (merge->scale == 1.0)
        return value;
    double result = (double)value * merge->scale;
    return result >= 18446744073709549568.0 ? UINT64_MAX : (uint64_t)(result + 0.5);
}

/* Add src's histogram into dst's, moving buckets when the units differ. */
static int merge_hist(const merge_t *merge, pg_hist_t *dst, const pg_hist_t *src)
{
    if (merge->scale == 1.0)
        return pg_hist_merge(dst, src);
    if (src->count == 0)
        return PG_OK;
    for (uint32_t b = 0; b < PG_HIST_BUCKETS; b++) {
        uint64_t n = pg_hist_bucket_count(src, b);
        if (!n)
            continue;
        double mid = (double)pg_hist_bucket_low(b) + ((double)pg_hist_bucket_width(b) - 1.0) / 2.0;
        uint64_t value = scaled(merge, (uint64_t)mid);
        if (pg_hist_add_bucket(dst, pg_hist_bucket(value), n) < 0)
            return PG_ERR_NOMEM;
    }
    uint64_t min = scaled(merge, src->min), max = scaled(merge, src->max);
    dst->count += src->count;
    dst->sum += scaled(merge, src->sum);
    if (min < dst->min)
        dst->min = min;
    if (max > dst->max)
        dst->max = max;
    return PG_OK;
}

/* Functions by identity; fills func_map. */
static int merge_functions(merge_t *merge)
{
    const pg_profile_t *src = merge->src;
    for (uint32_t i = 0; i < src->func_count; i++) {
        const pg_func_t *f = &src->funcs[i];
        int64_t index = pg_profile_func_intern(
            merge->dst, src->strings.strings[f->name], src->strings.lengths[f->name],
            src->strings.strings[f->file], src->strings.lengths[f->file], f->line, f->kind);
        if (index < 0)
            return (int)index;
        merge->func_map[i] = (uint32_t)index;
        int rc = merge_hist(merge, &merge->dst->funcs[index].hist, &f->hist);
        if (rc < 0)
            return rc;
    }
    return PG_OK;
}

/* Nodes by call path: parents come before children, so one forward scan
 * maps every src node to its dst node. */
static int merge_nodes(merge_t *merge)
{
    const pg_profile_t *src = merge->src;
    uint32_t *node_map = malloc((size_t)src->node_count * sizeof *node_map);
    if (!node_map)
        return PG_ERR_NOMEM;
    merge->node_map = node_map; /* kept for merge_metrics; freed by pg_profile_merge */
    int rc = PG_OK;
    node_map[0] = PG_ROOT;
    for (uint32_t i = 0; i < src->node_count; i++) {
        const pg_node_t *node = &src->nodes[i];
        if (i > 0) {
            int64_t index = pg_profile_node_child(merge->dst, node_map[node->parent],
                                                  merge->func_map[node->func]);
            if (index < 0) {
                rc = (int)index;
                break;
            }
            node_map[i] = (uint32_t)index;
        }
        pg_node_t *target = &merge->dst->nodes[node_map[i]];
        target->calls += node->calls;
        target->exc_exits += node->exc_exits;
        target->events += node->events;
        target->inclusive += scaled(merge, node->inclusive);
        target->exclusive += scaled(merge, node->exclusive);
    }
    return rc;
}

/* Add one stage's counters; unit times are converted, CPU ns and bytes not. */
static int merge_stage(const merge_t *merge, pg_stage_t *d, const pg_stage_t *s, int fresh)
{
    d->flags = fresh ? s->flags : (d->flags & s->flags); /* auto only if both are */
    d->invocations += s->invocations;
    d->records_in += s->records_in;
    d->records_out += s->records_out;
    d->bytes += s->bytes;
    d->exceptions += s->exceptions;
    d->own += scaled(merge, s->own);
    d->upstream += scaled(merge, s->upstream);
    d->nested += scaled(merge, s->nested);
    d->suspended += scaled(merge, s->suspended);
    d->wall += scaled(merge, s->wall);
    d->cpu_ns += s->cpu_ns;
    d->cpu_invocations += s->cpu_invocations;
    d->io_read_bytes += s->io_read_bytes;
    d->io_write_bytes += s->io_write_bytes;
    d->io_invocations += s->io_invocations;
    d->mem_allocated += s->mem_allocated;
    d->mem_activations += s->mem_activations;
    return merge_hist(merge, &d->latency, &s->latency);
}

/* dst units from the start of dst's run to the start of src's (0 when src
 * started first: then dst's own spans are moved later by the difference,
 * since merge_run makes the earlier start the run's). Runs before
 * merge_run, which moves dst's start. */
static uint64_t span_offset(pg_profile_t *dst, const pg_profile_t *src)
{
    double unit = dst->run.ns_per_unit;
    uint64_t from = dst->run.start_epoch_ns, to = src->run.start_epoch_ns;
    if (!from || !to)
        return 0;
    if (to >= from)
        return (uint64_t)((double)(to - from) / unit + 0.5);
    uint64_t shift = (uint64_t)((double)(from - to) / unit + 0.5);
    for (uint32_t i = 0; i < dst->stages.span_count; i++) {
        dst->stages.spans[i].start += shift;
        dst->stages.spans[i].end += shift;
    }
    return 0;
}

/* Stages by name; src's spans appended on the merged run's time line (the
 * log stays bounded: pg_stage_span_add coalesces when it is full). */
static int merge_stages(merge_t *merge)
{
    const pg_stage_table_t *src = &merge->src->stages;
    pg_stage_table_t *dst = &merge->dst->stages;
    if (src->count == 0)
        return PG_OK;
    uint32_t *map = malloc((size_t)src->count * sizeof *map);
    if (!map)
        return PG_ERR_NOMEM;
    int rc = PG_OK;
    for (uint32_t i = 0; rc == PG_OK && i < src->count; i++) {
        const pg_stage_t *s = &src->stages[i];
        uint32_t before = dst->count;
        int64_t index = pg_stage_intern(dst, s->name, s->name_length);
        if (index < 0) {
            rc = (int)index;
            break;
        }
        map[i] = (uint32_t)index;
        rc = merge_stage(merge, &dst->stages[index], s, dst->count > before);
    }
    uint64_t offset = rc == PG_OK ? span_offset(merge->dst, merge->src) : 0;
    for (uint32_t i = 0; rc == PG_OK && i < src->span_count; i++) {
        pg_stage_span_t span = src->spans[i];
        span.stage = map[span.stage];
        span.start = offset + scaled(merge, span.start);
        span.end = offset + scaled(merge, span.end);
        span.busy = scaled(merge, span.busy);
        if (span.end < span.start || span.busy > span.end - span.start)
            span.busy = span.end >= span.start ? span.end - span.start : 0;
        rc = pg_stage_span_add(dst, &span);
    }
    dst->coalesced += src->coalesced;
    dst->spans_dropped += src->spans_dropped;
    dst->lost += src->lost;
    free(map);
    return rc;
}

/* Metrics by name, values by node path, combined by the metric's rule; a
 * metric in time units is converted like times. A name whose unit or rule
 * differs between the two profiles is refused (PG_ERR_ARG). */
static int merge_metrics(merge_t *merge)
{
    const pg_profile_t *src = merge->src;
    for (uint32_t m = 0; m < src->metric_count; m++) {
        const pg_metric_t *metric = &src->metrics[m];
        const char *unit = pg_strtab_get(&src->strings, metric->unit);
        int64_t index = pg_profile_metric_intern(
            merge->dst, pg_strtab_get(&src->strings, metric->name), unit, metric->merge);
        if (index < 0)
            return (int)index;
        pg_metric_t *target = &merge->dst->metrics[index];
        int time_units = strcmp(unit, "units") == 0;
        for (uint32_t i = 0; i < src->node_count; i++) {
            uint64_t value = metric->values[i];
            if (!value)
                continue;
            uint32_t node = merge->node_map[i];
            target->values[node] = pg_metric_combine(
                target->merge, target->values[node], time_units ? scaled(merge, value) : value);
        }
    }
    return PG_OK;
}

/* Line heat by (function, line), functions through func_map; times are
 * converted like node times. */
static int merge_lines(merge_t *merge)
{
    const pg_line_table_t *src = &merge->src->lines;
    for (uint32_t i = 0; i < src->count; i++) {
        const pg_line_heat_t *row = &src->rows[i];
        if (row->func >= merge->src->func_count)
            return PG_ERR_CORRUPT;
        int rc = pg_profile_line_charge(merge->dst, merge->func_map[row->func], row->line,
                                        scaled(merge, row->self), scaled(merge, row->total),
                                        row->hits);
        if (rc < 0)
            return rc;
    }
    return PG_OK;
}

static int merge_run(merge_t *merge)
{
    pg_run_stats_t *dst = &merge->dst->run;
    const pg_run_stats_t *src = &merge->src->run;
    uint64_t dst_end = dst->start_epoch_ns + dst->duration_ns;
    uint64_t src_end = src->start_epoch_ns + src->duration_ns;
    if (src->start_epoch_ns && (!dst->start_epoch_ns || src->start_epoch_ns < dst->start_epoch_ns))
        dst->start_epoch_ns = src->start_epoch_ns;
    if (src_end > dst_end)
        dst_end = src_end;
    dst->duration_ns = dst_end - dst->start_epoch_ns;
    dst->events += src->events;
    dst->profiler_memory += src->profiler_memory;
    dst->threads += src->threads;
    dst->lost_events += src->lost_events;
    dst->unmatched_events += src->unmatched_events;
    return PG_OK;
}

static int merge_processes(merge_t *merge)
{
    for (uint32_t i = 0; i < merge->src->process_count; i++) {
        int rc = pg_profile_process_add(merge->dst, &merge->src->processes[i]);
        if (rc < 0)
            return rc;
    }
    return PG_OK;
}

/* One step per kind of data, in order (functions first: nodes need the map). */
static int (*const merge_steps[])(merge_t *merge) = {
    merge_functions,
    merge_nodes,
    merge_stages, /* before merge_run: it needs dst's own run start */
    merge_run,
    merge_processes,
    merge_metrics,
    merge_lines,
};

int pg_profile_merge(pg_profile_t *dst, const pg_profile_t *src)
{
    if (dst == src || !(src->run.ns_per_unit > 0.0) || !(dst->run.ns_per_unit > 0.0))
        return PG_ERR_ARG;
    merge_t merge = {.dst = dst, .src = src, .scale = src->run.ns_per_unit / dst->run.ns_per_unit};
    merge.func_map = malloc(((size_t)src->func_count + 1) * sizeof *merge.func_map);
    if (!merge.func_map)
        return PG_ERR_NOMEM;
    int rc = PG_OK;
    for (size_t i = 0; rc == PG_OK && i < sizeof merge_steps / sizeof merge_steps[0]; i++)
        rc = merge_steps[i](&merge);
    free(merge.func_map);
    free(merge.node_map);
    return rc;
}
