/* The stage table (see pg_stage.h for the invariants). */
#include "pg_stage.h"

#include <stdlib.h>
#include <string.h>

#include "pg_error.h"
#include "pg_profile.h"

#define MAX_NAME_LENGTH 4096u /* a stage name is a label, not a document */

void pg_stage_table_init(pg_stage_table_t *table)
{
    memset(table, 0, sizeof *table);
    table->span_limit = PG_STAGE_SPAN_LIMIT;
}

void pg_stage_table_clear(pg_stage_table_t *table)
{
    for (uint32_t i = 0; i < table->count; i++) {
        free(table->stages[i].name);
        pg_hist_release(&table->stages[i].latency);
    }
    table->count = 0;
    table->span_count = 0;
    table->coalesced = 0;
    table->spans_dropped = 0;
    table->lost = 0;
}

void pg_stage_table_release(pg_stage_table_t *table)
{
    pg_stage_table_clear(table);
    free(table->stages);
    free(table->spans);
    pg_stage_table_init(table);
}

int64_t pg_stage_find(const pg_stage_table_t *table, const char *name, size_t length)
{
    /* Linear: a pipeline has a handful of stages, and the runtime looks a
     * name up once per decorator, not per call. */
    for (uint32_t i = 0; i < table->count; i++) {
        const pg_stage_t *stage = &table->stages[i];
        if (stage->name_length == length && memcmp(stage->name, name, length) == 0)
            return i;
    }
    return -1;
}

int64_t pg_stage_intern(pg_stage_table_t *table, const char *name, size_t length)
{
    if (!name || length == 0 || length > MAX_NAME_LENGTH || memchr(name, '\0', length))
        return PG_ERR_ARG;
    int64_t found = pg_stage_find(table, name, length);
    if (found >= 0)
        return found;
    return pg_stage_append(table, name, length);
}

int64_t pg_stage_append(pg_stage_table_t *table, const char *name, size_t length)
{
    if (length > UINT32_MAX - 1)
        return PG_ERR_ARG;
    pg_stage_t *stages = pg_array_reserve(table->stages, table->count, &table->capacity,
                                          sizeof *stages, 8);
    if (!stages)
        return PG_ERR_NOMEM;
    table->stages = stages;
    char *copy = malloc(length + 1);
    if (!copy)
        return PG_ERR_NOMEM;
    memcpy(copy, name, length);
    copy[length] = '\0';
    pg_stage_t *stage = &table->stages[table->count];
    memset(stage, 0, sizeof *stage);
    stage->name = copy;
    stage->name_length = (uint32_t)length;
    pg_hist_init(&stage->latency);
    return table->count++;
}

void pg_stage_add_latency(pg_stage_table_t *table, uint32_t stage, uint64_t value, uint64_t n)
{
    if (stage >= table->count || n == 0)
        return;
    pg_hist_t *hist = &table->stages[stage].latency;
    if (n == 1) {
        if (pg_hist_add(hist, value) < 0)
            table->lost++;
        return;
    }
    /* n equal observations: one bucket update, exact totals. */
    if (pg_hist_add_bucket(hist, pg_hist_bucket(value), n) < 0) {
        table->lost++;
        return;
    }
    hist->count += n;
    hist->sum += value * n;
    if (value < hist->min)
        hist->min = value;
    if (value > hist->max)
        hist->max = value;
}

static int span_valid(const pg_stage_table_t *table, const pg_stage_span_t *span)
{
    return span->stage < table->count && span->start <= span->end &&
           span->busy <= span->end - span->start && span->invocations >= 1 &&
           span->reserved == 0;
}

/* Order for coalescing: group by (stage, thread), then by start. */
static int compare_group(const void *a, const void *b)
{
    const pg_stage_span_t *x = a, *y = b;
    if (x->stage != y->stage)
        return x->stage < y->stage ? -1 : 1;
    if (x->thread != y->thread)
        return x->thread < y->thread ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

static int compare_start(const void *a, const void *b)
{
    const pg_stage_span_t *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->stage != y->stage)
        return x->stage < y->stage ? -1 : 1;
    return (x->thread > y->thread) - (x->thread < y->thread);
}

static void span_merge(pg_stage_span_t *into, const pg_stage_span_t *other)
{
    uint64_t start = into->start < other->start ? into->start : other->start;
    uint64_t end = into->end > other->end ? into->end : other->end;
    uint64_t busy = into->busy + other->busy;
    into->start = start;
    into->end = end;
    into->busy = busy < end - start ? busy : end - start; /* overlaps: clamp */
    into->invocations += other->invocations;
}

int64_t pg_stage_spans_coalesce(pg_stage_table_t *table)
{
    uint32_t n = table->span_count;
    if (n < 2)
        return 0;
    /* Sorting in place is enough: the log is re-sorted by start below. */
    qsort(table->spans, n, sizeof *table->spans, compare_group);
    uint32_t kept = 0;
    for (uint32_t i = 0; i < n;) {
        pg_stage_span_t span = table->spans[i++];
        if (i < n && table->spans[i].stage == span.stage &&
            table->spans[i].thread == span.thread)
            span_merge(&span, &table->spans[i++]);
        table->spans[kept++] = span;
    }
    qsort(table->spans, kept, sizeof *table->spans, compare_start);
    table->span_count = kept;
    table->coalesced++;
    return (int64_t)(n - kept);
}

int pg_stage_span_add(pg_stage_table_t *table, const pg_stage_span_t *span)
{
    if (!span_valid(table, span))
        return PG_ERR_ARG;
    if (table->span_count >= table->span_limit && pg_stage_spans_coalesce(table) <= 0) {
        table->spans_dropped++;
        return PG_OK;
    }
    pg_stage_span_t *spans = pg_array_reserve(table->spans, table->span_count,
                                              &table->span_capacity, sizeof *spans, 256);
    if (!spans) {
        table->spans_dropped++;
        return PG_OK;
    }
    table->spans = spans;
    table->spans[table->span_count++] = *span;
    return PG_OK;
}

int pg_stage_table_copy(pg_stage_table_t *dst, const pg_stage_table_t *src)
{
    pg_stage_table_init(dst);
    dst->span_limit = src->span_limit;
    for (uint32_t i = 0; i < src->count; i++) {
        const pg_stage_t *from = &src->stages[i];
        int64_t index = pg_stage_intern(dst, from->name, from->name_length);
        if (index < 0)
            goto error;
        pg_stage_t *to = &dst->stages[index];
        char *name = to->name; /* owned by dst */
        pg_hist_t latency = to->latency;
        *to = *from;
        to->name = name;
        to->latency = latency;
        if (pg_hist_merge(&to->latency, &from->latency) < 0)
            goto error;
    }
    if (src->span_count) {
        dst->spans = malloc((size_t)src->span_count * sizeof *dst->spans);
        if (!dst->spans)
            goto error;
        memcpy(dst->spans, src->spans, (size_t)src->span_count * sizeof *dst->spans);
        dst->span_count = dst->span_capacity = src->span_count;
    }
    dst->coalesced = src->coalesced;
    dst->spans_dropped = src->spans_dropped;
    dst->lost = src->lost;
    return PG_OK;
error:
    pg_stage_table_release(dst);
    return PG_ERR_NOMEM;
}

uint64_t pg_stage_table_memory(const pg_stage_table_t *table)
{
    uint64_t bytes = (uint64_t)table->capacity * sizeof(pg_stage_t);
    bytes += (uint64_t)table->span_capacity * sizeof(pg_stage_span_t);
    for (uint32_t i = 0; i < table->count; i++)
        bytes += table->stages[i].name_length + 1u + pg_hist_memory(&table->stages[i].latency);
    return bytes;
}
