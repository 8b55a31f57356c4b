/* The profile file reader: validates every byte of a format 1.x image
 * (docs/format.md) and fills a fresh profile.
 *
 * src/pipegauge/_format.py (the pure-Python reader used as a test oracle)
 * applies the same rules in the same order, so both give the same error for
 * the same bytes. Errors, checked in stream order:
 * - PG_ERR_NOT_PROFILE: the magic bytes differ;
 * - PG_ERR_TRUNCATED: the file ends inside the header, a section header or
 *   a payload, or before the "END " section;
 * - PG_ERR_VERSION: major != 1, or flags != 0;
 * - PG_ERR_CORRUPT: bad tag bytes, a CRC mismatch, and any payload that does
 *   not parse (a payload is CRC-checked, so running off its end means it is
 *   inconsistent, not truncated), a bad index or count, a duplicate or
 *   misordered section, bytes after "END ";
 * - PG_ERR_LIMIT: a count or string length the in-memory model cannot hold.
 * Every count is checked against the payload bytes left before anything is
 * allocated for it, so memory stays proportional to the input size.
 */
#include "pg_format.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pg_error.h"

/* Known sections, as bits of a "seen" mask. */
enum {
    SECTION_RUN = 1u << 0,
    SECTION_META = 1u << 1,
    SECTION_STRS = 1u << 2,
    SECTION_FUNC = 1u << 3,
    SECTION_NODE = 1u << 4,
    SECTION_HIST = 1u << 5,
    SECTION_PRCS = 1u << 6,
    SECTION_STGS = 1u << 7,
    SECTION_SSPN = 1u << 8,
    SECTION_RMET = 1u << 9,
    SECTION_TLIN = 1u << 10,
    SECTION_TGPU = 1u << 11,
    SECTION_ITHR = 1u << 12,
    SECTION_LINE = 1u << 13,
    SECTIONS_REQUIRED = SECTION_RUN | SECTION_STRS | SECTION_FUNC | SECTION_NODE |
                        SECTION_HIST,
};

/* Fewest payload bytes one element can take; a count larger than
 * (bytes left / this) cannot be honest, so it is rejected before any
 * allocation is sized by it. */
enum {
    MIN_STRING_BYTES = 1, /* uv length */
    MIN_META_BYTES = 2,   /* uv key length, uv value length */
    MIN_FUNC_BYTES = 4,   /* name, file, line, kind */
    MIN_NODE_BYTES = 7,   /* parent, func and five counters */
    MIN_BUCKET_BYTES = 2, /* index delta, count */
    MIN_PROCESS_BYTES = 9, /* pid, parent, role length, state, five counters */
    MIN_STAGE_BYTES = 24, /* name, 18 counters, histogram header */
    MIN_SPAN_BYTES = 6,   /* stage, thread, start, duration, busy, count */
    MIN_METRIC_BYTES = 4, /* name, unit, merge, value count */
    MIN_VALUE_BYTES = 2,  /* node index delta, value */
    MIN_SAMPLE_BYTES = 10, /* gap, length and eight figures */
    MIN_DEVICE_BYTES = 2,  /* uv name length, uv memory */
    GPU_FIGURE_COUNT = 3,  /* busy, memory, process memory per device */
    MIN_THREAD_IO_BYTES = 17, /* tid, name length, flags, 14 counters */
};

/* Largest element count the model can index (PG_NONE is reserved, and the
 * tables refuse to grow to PG_NONE - 1). */
#define MAX_COUNT ((uint64_t)PG_NONE - 2)

/* Rules the writer checks too (see pg_format.h). */

int pg_format_run_valid(const pg_run_stats_t *run)
{
    return isfinite(run->ns_per_unit) && run->ns_per_unit > 0.0 &&
           isfinite(run->event_cost_ns) && run->event_cost_ns >= 0.0;
}

int pg_format_hist_header_valid(uint64_t count, uint64_t sum, uint64_t min, uint64_t max)
{
    if (count == 0)
        return sum == 0 && min == 0 && max == 0;
    return min <= max;
}

static int compare_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorting the packed pairs: O(n log n) and no hash table to trust. */
int pg_format_node_pairs_duplicated(const pg_node_t *nodes, uint32_t count)
{
    if (count < 3)
        return 0;
    uint64_t *keys = malloc((size_t)(count - 1) * sizeof *keys);
    if (!keys)
        return PG_ERR_NOMEM;
    for (uint32_t i = 1; i < count; i++)
        keys[i - 1] = (uint64_t)nodes[i].parent << 32 | nodes[i].func;
    qsort(keys, count - 1, sizeof *keys, compare_u64);
    int duplicated = 0;
    for (uint32_t i = 1; i + 1 < count && !duplicated; i++)
        duplicated = keys[i] == keys[i - 1];
    free(keys);
    return duplicated;
}

/* A count: LIMIT beyond the model, CORRUPT when the bytes left cannot hold
 * that many elements of at least min_bytes each. */
static int read_count(pg_cursor_t *in, size_t min_bytes, uint64_t *count)
{
    *count = pg_cursor_uv(in);
    if (in->failed)
        return PG_ERR_CORRUPT;
    if (*count > MAX_COUNT)
        return PG_ERR_LIMIT;
    if (*count > pg_cursor_left(in) / min_bytes)
        return PG_ERR_CORRUPT;
    return PG_OK;
}

/* A length-prefixed string without NUL bytes; borrowed from the input. */
static int read_text(pg_cursor_t *in, const uint8_t **text, size_t *length)
{
    uint64_t n = pg_cursor_uv(in);
    if (in->failed || n > pg_cursor_left(in))
        return PG_ERR_CORRUPT;
    *text = pg_cursor_take(in, (size_t)n);
    *length = (size_t)n;
    if (memchr(*text, '\0', *length))
        return PG_ERR_CORRUPT;
    return n > UINT32_MAX - 1 ? PG_ERR_LIMIT : PG_OK;
}

static int parse_run(pg_profile_t *profile, pg_cursor_t *in)
{
    pg_run_stats_t *run = &profile->run;
    run->ns_per_unit = pg_cursor_f64(in);
    run->event_cost_ns = pg_cursor_f64(in);
    run->events = pg_cursor_uv(in);
    run->start_epoch_ns = pg_cursor_uv(in);
    run->duration_ns = pg_cursor_uv(in);
    run->profiler_memory = pg_cursor_uv(in);
    run->threads = pg_cursor_uv(in);
    run->lost_events = pg_cursor_uv(in);
    run->unmatched_events = pg_cursor_uv(in);
    if (in->failed || !pg_format_run_valid(run))
        return PG_ERR_CORRUPT;
    return PG_OK;
}

static int compare_meta_keys(const void *a, const void *b)
{
    const pg_meta_entry_t *x = a, *y = b;
    return strcmp(x->key, y->key);
}

/* Append without pg_profile_meta_set's per-key scan (quadratic on hostile
 * input); uniqueness is checked once at the end by sorting a copy. */
static int meta_append(pg_profile_t *profile, const uint8_t *key, size_t key_length,
                       const uint8_t *value, size_t value_length)
{
    pg_meta_entry_t *meta = pg_array_reserve(profile->meta, profile->meta_count,
                                             &profile->meta_capacity, sizeof *meta, 16);
    if (!meta)
        return PG_ERR_NOMEM;
    profile->meta = meta;
    char *key_copy = strndup((const char *)key, key_length);
    char *value_copy = strndup((const char *)value, value_length);
    if (!key_copy || !value_copy) {
        free(key_copy);
        free(value_copy);
        return PG_ERR_NOMEM;
    }
    profile->meta[profile->meta_count].key = key_copy;
    profile->meta[profile->meta_count].value = value_copy;
    profile->meta_count++;
    return PG_OK;
}

int pg_format_meta_keys_duplicated(const pg_profile_t *profile)
{
    uint32_t n = profile->meta_count;
    if (n < 2)
        return 0;
    pg_meta_entry_t *sorted = malloc((size_t)n * sizeof *sorted);
    if (!sorted)
        return PG_ERR_NOMEM;
    memcpy(sorted, profile->meta, (size_t)n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, compare_meta_keys);
    int duplicated = 0;
    for (uint32_t i = 1; i < n && !duplicated; i++)
        duplicated = strcmp(sorted[i].key, sorted[i - 1].key) == 0;
    free(sorted);
    return duplicated;
}

static int parse_meta(pg_profile_t *profile, pg_cursor_t *in)
{
    uint64_t count;
    int rc = read_count(in, MIN_META_BYTES, &count);
    for (uint64_t i = 0; rc == PG_OK && i < count; i++) {
        const uint8_t *key, *value;
        size_t key_length, value_length;
        if ((rc = read_text(in, &key, &key_length)) < 0 ||
            (rc = read_text(in, &value, &value_length)) < 0)
            break;
        rc = meta_append(profile, key, key_length, value, value_length);
    }
    if (rc < 0)
        return rc;
    rc = pg_format_meta_keys_duplicated(profile);
    return rc > 0 ? PG_ERR_CORRUPT : rc;
}

static int parse_strings(pg_profile_t *profile, pg_cursor_t *in)
{
    uint64_t count;
    int rc = read_count(in, MIN_STRING_BYTES, &count);
    if (rc < 0)
        return rc;
    if (count == 0)
        return PG_ERR_CORRUPT;
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *text;
        size_t length;
        if ((rc = read_text(in, &text, &length)) < 0)
            return rc;
        if (i == 0) {
            /* The table already holds "" at index 0; the file must agree. */
            if (length != 0)
                return PG_ERR_CORRUPT;
            continue;
        }
        int64_t index = pg_strtab_intern(&profile->strings, (const char *)text, length);
        if (index < 0)
            return (int)index;
        if ((uint64_t)index != i)
            return PG_ERR_CORRUPT; /* a duplicate would shift every index */
    }
    return PG_OK;
}

static int parse_funcs(pg_profile_t *profile, pg_cursor_t *in)
{
    uint64_t count;
    int rc = read_count(in, MIN_FUNC_BYTES, &count);
    if (rc < 0)
        return rc;
    uint32_t strings = profile->strings.count;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t name = pg_cursor_uv(in);
        uint64_t file = pg_cursor_uv(in);
        uint64_t line = pg_cursor_uv(in);
        uint64_t kind = pg_cursor_uv(in);
        if (in->failed || name >= strings || file >= strings || line > UINT32_MAX ||
            kind > PG_FUNC_BUILTIN)
            return PG_ERR_CORRUPT;
        rc = pg_profile_func_append(profile, (uint32_t)name, (uint32_t)file,
                                    (uint32_t)line, (uint32_t)kind);
        if (rc < 0)
            return rc;
    }
    return PG_OK;
}

/* One node record; index is its position in the file. */
static int read_node(pg_cursor_t *in, uint64_t index, uint32_t func_count, pg_node_t *node)
{
    uint64_t parent = pg_cursor_uv(in);
    uint64_t func = pg_cursor_uv(in);
    node->calls = pg_cursor_uv(in);
    node->exc_exits = pg_cursor_uv(in);
    node->events = pg_cursor_uv(in);
    node->inclusive = pg_cursor_uv(in);
    node->exclusive = pg_cursor_uv(in);
    if (in->failed)
        return PG_ERR_CORRUPT;
    if (index == 0) {
        /* The root: no parent, no function. */
        if (parent != 0 || func != 0)
            return PG_ERR_CORRUPT;
        node->parent = PG_NONE;
        node->func = PG_NONE;
        return PG_OK;
    }
    /* Stored plus one; a parent must come before its children. */
    if (parent == 0 || parent > index || func == 0 || func > func_count)
        return PG_ERR_CORRUPT;
    node->parent = (uint32_t)(parent - 1);
    node->func = (uint32_t)(func - 1);
    return PG_OK;
}

static int parse_nodes(pg_profile_t *profile, pg_cursor_t *in)
{
    uint64_t count;
    int rc = read_count(in, MIN_NODE_BYTES, &count);
    if (rc < 0)
        return rc;
    if (count == 0)
        return PG_ERR_CORRUPT;
    for (uint64_t i = 0; i < count; i++) {
        pg_node_t node;
        if ((rc = read_node(in, i, profile->func_count, &node)) < 0)
            return rc;
        if (i == 0)
            profile->nodes[0] = node; /* replaces the root init made */
        else if ((rc = pg_profile_node_append(profile, &node)) < 0)
            return rc;
    }
    rc = pg_format_node_pairs_duplicated(profile->nodes, profile->node_count);
    return rc > 0 ? PG_ERR_CORRUPT : rc;
}

/* The bucket list of one histogram: strictly increasing indexes stored as
 * deltas (the first absolute), positive counts summing to at most count. */
static int read_buckets(pg_cursor_t *in, pg_hist_t *hist, uint64_t count)
{
    uint64_t nonzero = pg_cursor_uv(in);
    if (in->failed || nonzero > PG_HIST_BUCKETS ||
        nonzero > pg_cursor_left(in) / MIN_BUCKET_BYTES)
        return PG_ERR_CORRUPT;
    uint64_t index = 0, total = 0;
    for (uint64_t i = 0; i < nonzero; i++) {
        uint64_t delta = pg_cursor_uv(in);
        uint64_t n = pg_cursor_uv(in);
        if (in->failed || (i > 0 && delta == 0) || delta >= PG_HIST_BUCKETS ||
            n == 0 || n > count - total)
            return PG_ERR_CORRUPT;
        index = i == 0 ? delta : index + delta;
        if (index >= PG_HIST_BUCKETS)
            return PG_ERR_CORRUPT;
        total += n;
        int rc = pg_hist_add_bucket(hist, (uint32_t)index, n);
        if (rc < 0)
            return rc;
    }
    return PG_OK;
}

/* One histogram as stored (header, then its bucket list). */
static int read_hist(pg_cursor_t *in, pg_hist_t *hist)
{
    uint64_t values = pg_cursor_uv(in);
    uint64_t sum = pg_cursor_uv(in);
    uint64_t min = pg_cursor_uv(in);
    uint64_t max = pg_cursor_uv(in);
    if (in->failed || !pg_format_hist_header_valid(values, sum, min, max))
        return PG_ERR_CORRUPT;
    int rc = read_buckets(in, hist, values);
    if (rc < 0)
        return rc;
    hist->count = values;
    hist->sum = sum;
    hist->min = values ? min : UINT64_MAX;
    hist->max = max;
    return PG_OK;
}

static int parse_hists(pg_profile_t *profile, pg_cursor_t *in)
{
    uint64_t count = pg_cursor_uv(in);
    if (in->failed || count != profile->func_count)
        return PG_ERR_CORRUPT;
    for (uint32_t i = 0; i < profile->func_count; i++) {
        int rc = read_hist(in, &profile->funcs[i].hist);
        if (rc < 0)
            return rc;
    }
    return PG_OK;
}

static int parse_processes(pg_profile_t *profile, pg_cursor_t *in)
{
    uint64_t count;
    int rc = read_count(in, MIN_PROCESS_BYTES, &count);
    for (uint64_t i = 0; rc == PG_OK && i < count; i++) {
        pg_process_t process = {0};
        uint64_t pid = pg_cursor_uv(in), parent = pg_cursor_uv(in);
        const uint8_t *role;
        size_t role_length;
        if ((rc = read_text(in, &role, &role_length)) < 0)
            break;
        uint64_t state = pg_cursor_uv(in);
        process.start_epoch_ns = pg_cursor_uv(in);
        process.duration_ns = pg_cursor_uv(in);
        process.events = pg_cursor_uv(in);
        process.calls = pg_cursor_uv(in);
        process.busy_ns = pg_cursor_uv(in);
        if (in->failed || pid > UINT32_MAX || parent > UINT32_MAX || state > PG_PROCESS_STATE_MAX)
            return PG_ERR_CORRUPT;
        process.pid = (uint32_t)pid;
        process.parent_pid = (uint32_t)parent;
        process.state = (uint32_t)state;
        process.role = strndup((const char *)role, role_length);
        if (!process.role)
            return PG_ERR_NOMEM;
        rc = pg_profile_process_add(profile, &process);
        free(process.role);
    }
    return rc;
}

static int compare_stage_names(const void *a, const void *b)
{
    const pg_stage_t *x = *(const pg_stage_t *const *)a, *y = *(const pg_stage_t *const *)b;
    if (x->name_length != y->name_length)
        return x->name_length < y->name_length ? -1 : 1;
    return memcmp(x->name, y->name, x->name_length);
}

/* Sorting pointers: O(n log n) on hostile input, no hash table to trust. */
static int stage_names_duplicated(const pg_stage_table_t *table)
{
    if (table->count < 2)
        return 0;
    const pg_stage_t **sorted = malloc((size_t)table->count * sizeof *sorted);
    if (!sorted)
        return PG_ERR_NOMEM;
    for (uint32_t i = 0; i < table->count; i++)
        sorted[i] = &table->stages[i];
    qsort(sorted, table->count, sizeof *sorted, compare_stage_names);
    int duplicated = 0;
    for (uint32_t i = 1; i < table->count && !duplicated; i++)
        duplicated = compare_stage_names(&sorted[i - 1], &sorted[i]) == 0;
    free(sorted);
    return duplicated;
}

int pg_format_stages_valid(const pg_stage_table_t *table)
{
    for (uint32_t i = 0; i < table->count; i++) {
        const pg_stage_t *s = &table->stages[i];
        if (!s->name || s->name_length == 0 || memchr(s->name, '\0', s->name_length) ||
            s->flags > PG_STAGE_AUTO)
            return 0;
    }
    for (uint32_t i = 0; i < table->span_count; i++) {
        const pg_stage_span_t *span = &table->spans[i];
        if (span->stage >= table->count || span->start > span->end ||
            span->busy > span->end - span->start || span->invocations == 0 ||
            span->reserved != 0)
            return 0;
    }
    return stage_names_duplicated(table) == 0;
}

static int read_stage(pg_stage_table_t *table, pg_cursor_t *in)
{
    const uint8_t *name;
    size_t length;
    int rc = read_text(in, &name, &length);
    if (rc < 0)
        return rc;
    if (length == 0)
        return PG_ERR_CORRUPT;
    int64_t index = pg_stage_append(table, (const char *)name, length);
    if (index < 0)
        return (int)index;
    pg_stage_t *s = &table->stages[index];
    uint64_t *fields[] = {
        &s->invocations,     &s->records_in,     &s->records_out,    &s->bytes,
        &s->exceptions,      &s->own,            &s->upstream,       &s->nested,
        &s->suspended,       &s->wall,           &s->cpu_ns,         &s->cpu_invocations,
        &s->io_read_bytes,   &s->io_write_bytes, &s->io_invocations, &s->mem_allocated,
        &s->mem_activations,
    };
    uint64_t flags = pg_cursor_uv(in);
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
        *fields[f] = pg_cursor_uv(in);
    if (in->failed || flags > PG_STAGE_AUTO)
        return PG_ERR_CORRUPT;
    s->flags = (uint32_t)flags;
    return read_hist(in, &s->latency);
}

static int parse_stages(pg_profile_t *profile, pg_cursor_t *in)
{
    pg_stage_table_t *table = &profile->stages;
    uint64_t count;
    int rc = read_count(in, MIN_STAGE_BYTES, &count);
    if (rc < 0)
        return rc;
    if (count == 0)
        return PG_ERR_CORRUPT; /* the writer omits an empty table */
    for (uint64_t i = 0; i < count; i++)
        if ((rc = read_stage(table, in)) < 0)
            return rc;
    uint64_t coalesced = pg_cursor_uv(in);
    table->spans_dropped = pg_cursor_uv(in);
    table->lost = pg_cursor_uv(in);
    if (in->failed || coalesced > UINT32_MAX)
        return PG_ERR_CORRUPT;
    table->coalesced = (uint32_t)coalesced;
    rc = stage_names_duplicated(table);
    return rc > 0 ? PG_ERR_CORRUPT : rc;
}

static int parse_spans(pg_profile_t *profile, pg_cursor_t *in)
{
    pg_stage_table_t *table = &profile->stages;
    uint64_t count;
    int rc = read_count(in, MIN_SPAN_BYTES, &count);
    if (rc < 0)
        return rc;
    if (count == 0)
        return PG_ERR_CORRUPT; /* the writer omits an empty log */
    table->spans = malloc((size_t)count * sizeof *table->spans);
    if (!table->spans)
        return PG_ERR_NOMEM;
    table->span_capacity = (uint32_t)count;
    for (uint64_t i = 0; i < count; i++) {
        pg_stage_span_t *span = &table->spans[i];
        uint64_t stage = pg_cursor_uv(in);
        span->reserved = 0;
        span->thread = pg_cursor_uv(in);
        span->start = pg_cursor_uv(in);
        uint64_t duration = pg_cursor_uv(in);
        span->busy = pg_cursor_uv(in);
        span->invocations = pg_cursor_uv(in);
        if (in->failed || stage >= table->count || duration > UINT64_MAX - span->start ||
            span->busy > duration || span->invocations == 0)
            return PG_ERR_CORRUPT;
        span->stage = (uint32_t)stage;
        span->end = span->start + duration;
        table->span_count++;
    }
    /* A log read from a file may be longer than the live default. */
    if (table->span_limit < table->span_count)
        table->span_limit = table->span_count;
    return PG_OK;
}

/* The non-zero values of one metric: strictly increasing node indexes
 * stored as deltas (the first absolute), each value > 0. */
static int read_metric_values(pg_cursor_t *in, pg_metric_t *metric, uint32_t node_count)
{
    uint64_t nonzero = pg_cursor_uv(in);
    if (in->failed || nonzero > node_count || nonzero > pg_cursor_left(in) / MIN_VALUE_BYTES)
        return PG_ERR_CORRUPT;
    uint64_t node = 0;
    for (uint64_t i = 0; i < nonzero; i++) {
        uint64_t delta = pg_cursor_uv(in);
        uint64_t value = pg_cursor_uv(in);
        if (in->failed || (i > 0 && delta == 0) || delta >= node_count || value == 0)
            return PG_ERR_CORRUPT;
        node = i == 0 ? delta : node + delta;
        if (node >= node_count)
            return PG_ERR_CORRUPT;
        metric->values[node] = value;
    }
    return PG_OK;
}

static int parse_metrics(pg_profile_t *profile, pg_cursor_t *in)
{
    uint64_t count;
    int rc = read_count(in, MIN_METRIC_BYTES, &count);
    if (rc < 0)
        return rc;
    if (count > PG_METRIC_LIMIT)
        return PG_ERR_LIMIT;
    uint32_t strings = profile->strings.count;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t name = pg_cursor_uv(in);
        uint64_t unit = pg_cursor_uv(in);
        uint64_t merge = pg_cursor_uv(in);
        if (in->failed || name >= strings || unit >= strings || merge > PG_METRIC_MAX)
            return PG_ERR_CORRUPT;
        for (uint32_t j = 0; j < profile->metric_count; j++)
            if (profile->metrics[j].name == name)
                return PG_ERR_CORRUPT; /* two metrics with one name */
        if ((rc = pg_profile_metric_append(profile, (uint32_t)name, (uint32_t)unit,
                                           (uint32_t)merge)) < 0)
            return rc;
        rc = read_metric_values(in, &profile->metrics[profile->metric_count - 1],
                                profile->node_count);
        if (rc < 0)
            return rc;
    }
    return PG_OK;
}

int pg_format_timeline_valid(const pg_timeline_t *timeline)
{
    if (!pg_timeline_present(timeline))
        return 1;
    if (timeline->interval_ns == 0 || timeline->stride == 0 || timeline->pending_raw ||
        timeline->count > PG_FORMAT_TIMELINE_MAX || timeline->count > timeline->capacity ||
        timeline->gpu_count > PG_TIMELINE_MAX_GPUS)
        return 0;
    uint64_t end = 0;
    for (uint32_t i = 0; i < timeline->count; i++) {
        const pg_timeline_sample_t *s = &timeline->samples[i];
        if (s->dt_ns == 0 || s->t_ns < end || s->dt_ns > UINT64_MAX - s->t_ns)
            return 0;
        end = s->t_ns + s->dt_ns;
        for (uint32_t d = 0; d < timeline->gpu_count; d++)
            if (timeline->gpu[i * timeline->gpu_count + d].busy_ns > s->dt_ns)
                return 0;
    }
    for (uint32_t d = 0; d < timeline->gpu_count; d++)
        if (!timeline->devices[d].name)
            return 0;
    return 1;
}

static int read_sample(pg_cursor_t *in, uint64_t *end, pg_timeline_sample_t *s)
{
    uint64_t gap = pg_cursor_uv(in);
    s->dt_ns = pg_cursor_uv(in);
    s->rss_bytes = pg_cursor_uv(in);
    s->threads = pg_cursor_uv(in);
    s->cpu_user_ns = pg_cursor_uv(in);
    s->cpu_system_ns = pg_cursor_uv(in);
    s->read_chars = pg_cursor_uv(in);
    s->write_chars = pg_cursor_uv(in);
    s->read_bytes = pg_cursor_uv(in);
    s->write_bytes = pg_cursor_uv(in);
    if (in->failed || s->dt_ns == 0 || gap > UINT64_MAX - *end)
        return PG_ERR_CORRUPT;
    s->t_ns = *end + gap;
    if (s->dt_ns > UINT64_MAX - s->t_ns)
        return PG_ERR_CORRUPT;
    *end = s->t_ns + s->dt_ns;
    return PG_OK;
}

static int parse_timeline(pg_profile_t *profile, pg_cursor_t *in)
{
    uint64_t interval = pg_cursor_uv(in);
    uint64_t stride = pg_cursor_uv(in);
    if (in->failed || interval == 0 || stride == 0 || stride > UINT32_MAX)
        return PG_ERR_CORRUPT;
    uint64_t count;
    int rc = read_count(in, MIN_SAMPLE_BYTES, &count);
    if (rc < 0)
        return rc;
    if (count > PG_FORMAT_TIMELINE_MAX)
        return PG_ERR_LIMIT;
    pg_timeline_t *timeline = &profile->timeline;
    if ((rc = pg_timeline_init(timeline, (uint32_t)count, interval)) < 0)
        return rc;
    timeline->stride = (uint32_t)stride;
    uint64_t end = 0;
    for (uint64_t i = 0; i < count; i++) {
        if ((rc = read_sample(in, &end, &timeline->samples[i])) < 0)
            return rc;
        timeline->count++;
    }
    return PG_OK;
}

static int parse_gpu(pg_profile_t *profile, pg_cursor_t *in)
{
    pg_timeline_t *timeline = &profile->timeline;
    uint64_t devices;
    int rc = read_count(in, MIN_DEVICE_BYTES, &devices);
    if (rc < 0)
        return rc;
    if (devices == 0 || devices > PG_TIMELINE_MAX_GPUS)
        return PG_ERR_CORRUPT;
    for (uint64_t d = 0; d < devices; d++) {
        const uint8_t *name;
        size_t length;
        if ((rc = read_text(in, &name, &length)) < 0)
            return rc;
        uint64_t memory = pg_cursor_uv(in);
        if (in->failed)
            return PG_ERR_CORRUPT;
        char *copy = strndup((const char *)name, length);
        if (!copy)
            return PG_ERR_NOMEM;
        /* The samples are already read: add the device through an empty
         * count so add_device's "before the first sample" rule holds. */
        uint32_t count = timeline->count;
        timeline->count = 0;
        rc = pg_timeline_add_device(timeline, copy, memory);
        timeline->count = count;
        free(copy);
        if (rc < 0)
            return rc;
    }
    uint64_t figures = (uint64_t)timeline->count * devices;
    if (figures > pg_cursor_left(in) / GPU_FIGURE_COUNT)
        return PG_ERR_CORRUPT;
    for (uint64_t i = 0; i < figures; i++) {
        pg_timeline_gpu_t *gpu = &timeline->gpu[i];
        gpu->busy_ns = pg_cursor_uv(in);
        gpu->memory_bytes = pg_cursor_uv(in);
        gpu->process_bytes = pg_cursor_uv(in);
        if (in->failed || gpu->busy_ns > timeline->samples[i / devices].dt_ns)
            return PG_ERR_CORRUPT;
    }
    return PG_OK;
}

int pg_format_thread_io_valid(const pg_thread_io_t *row)
{
    size_t length = strnlen(row->name, PG_THREAD_NAME_SIZE);
    if (length == PG_THREAD_NAME_SIZE || (row->flags & ~(uint32_t)PG_THREAD_IO_FLAGS))
        return 0;
    /* the process row and only it has tid 0 */
    return (row->tid == 0) == ((row->flags & PG_THREAD_IO_PROCESS) != 0);
}

static int parse_thread_io(pg_profile_t *profile, pg_cursor_t *in)
{
    uint64_t count;
    int rc = read_count(in, MIN_THREAD_IO_BYTES, &count);
    for (uint64_t i = 0; rc == PG_OK && i < count; i++) {
        pg_thread_io_t row;
        const uint8_t *name;
        size_t length;
        memset(&row, 0, sizeof row);
        row.tid = pg_cursor_uv(in);
        if ((rc = read_text(in, &name, &length)) < 0)
            break;
        if (length >= PG_THREAD_NAME_SIZE)
            return PG_ERR_CORRUPT;
        memcpy(row.name, name, length);
        uint64_t flags = pg_cursor_uv(in);
        uint64_t *counters[] = {&row.rchar, &row.wchar, &row.syscr, &row.syscw,
                                &row.read_bytes, &row.write_bytes,
                                &row.hooked_read_bytes, &row.hooked_write_bytes,
                                &row.hooked_read_ops, &row.hooked_write_ops,
                                &row.hooked_recv_bytes, &row.hooked_send_bytes,
                                &row.hooked_recv_ops, &row.hooked_send_ops};
        for (size_t c = 0; c < sizeof counters / sizeof counters[0]; c++)
            *counters[c] = pg_cursor_uv(in);
        if (in->failed || flags > PG_THREAD_IO_FLAGS)
            return PG_ERR_CORRUPT;
        row.flags = (uint32_t)flags;
        if (!pg_format_thread_io_valid(&row))
            return PG_ERR_CORRUPT;
        rc = pg_profile_thread_io_append(profile, &row);
    }
    return rc;
}

typedef struct section_parser {
    char tag[4];    /* as stored: four ASCII bytes, no terminator */
    unsigned bit;   /* SECTION_* */
    unsigned after; /* sections that must already have been read */
    int (*parse)(pg_profile_t *profile, pg_cursor_t *payload);
} section_parser_t;

static const section_parser_t section_parsers[] = {
    {{'R', 'U', 'N', ' '}, SECTION_RUN, 0, parse_run},
    {{'M', 'E', 'T', 'A'}, SECTION_META, 0, parse_meta},
    {{'S', 'T', 'R', 'S'}, SECTION_STRS, 0, parse_strings},
    {{'F', 'U', 'N', 'C'}, SECTION_FUNC, SECTION_STRS, parse_funcs},
    {{'N', 'O', 'D', 'E'}, SECTION_NODE, SECTION_FUNC, parse_nodes},
    {{'H', 'I', 'S', 'T'}, SECTION_HIST, SECTION_FUNC, parse_hists},
    {{'P', 'R', 'C', 'S'}, SECTION_PRCS, 0, parse_processes},
    {{'S', 'T', 'G', 'S'}, SECTION_STGS, 0, parse_stages},
    {{'S', 'S', 'P', 'N'}, SECTION_SSPN, SECTION_STGS, parse_spans},
    {{'R', 'M', 'E', 'T'}, SECTION_RMET, SECTION_STRS | SECTION_NODE, parse_metrics},
    {{'T', 'L', 'I', 'N'}, SECTION_TLIN, 0, parse_timeline},
    {{'T', 'G', 'P', 'U'}, SECTION_TGPU, SECTION_TLIN, parse_gpu},
    {{'I', 'T', 'H', 'R'}, SECTION_ITHR, 0, parse_thread_io},
    {{'L', 'I', 'N', 'E'}, SECTION_LINE, SECTION_FUNC, pg_format_parse_lines},
};

static const section_parser_t *find_parser(const uint8_t *tag)
{
    size_t n = sizeof section_parsers / sizeof section_parsers[0];
    for (size_t i = 0; i < n; i++)
        if (memcmp(section_parsers[i].tag, tag, 4) == 0)
            return &section_parsers[i];
    return NULL;
}

/* Tags are four bytes of A-Z, 0-9 or space: room for future sections while
 * random bytes are recognised as damage. */
static int tag_valid(const uint8_t *tag)
{
    for (int i = 0; i < 4; i++) {
        uint8_t c = tag[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' '))
            return 0;
    }
    return 1;
}

static int read_header(pg_cursor_t *in)
{
    size_t prefix = in->size < PG_FORMAT_MAGIC_SIZE ? in->size : PG_FORMAT_MAGIC_SIZE;
    if (prefix && memcmp(in->data, PG_FORMAT_MAGIC, prefix) != 0)
        return PG_ERR_NOT_PROFILE;
    if (in->size < PG_FORMAT_HEADER_SIZE)
        return PG_ERR_TRUNCATED;
    pg_cursor_take(in, PG_FORMAT_MAGIC_SIZE);
    uint16_t major = pg_cursor_u16le(in);
    (void)pg_cursor_u16le(in); /* any minor of our major is readable */
    uint32_t flags = pg_cursor_u32le(in);
    /* Flags would announce features an old reader cannot skip safely. */
    if (major != PG_FORMAT_MAJOR || flags != 0)
        return PG_ERR_VERSION;
    return PG_OK;
}

/* Next section's tag and CRC-checked payload. */
static int next_section(pg_cursor_t *in, const uint8_t **tag, pg_cursor_t *payload)
{
    if (pg_cursor_left(in) < PG_FORMAT_SECTION_HEADER_SIZE)
        return PG_ERR_TRUNCATED; /* includes a missing "END " */
    *tag = pg_cursor_take(in, 4);
    uint32_t crc = pg_cursor_u32le(in);
    uint64_t length = pg_cursor_u64le(in);
    if (!tag_valid(*tag))
        return PG_ERR_CORRUPT;
    if (length > pg_cursor_left(in))
        return PG_ERR_TRUNCATED;
    const uint8_t *data = pg_cursor_take(in, (size_t)length);
    if (pg_crc32(0, data, (size_t)length) != crc)
        return PG_ERR_CORRUPT;
    pg_cursor_init(payload, data, (size_t)length);
    return PG_OK;
}

static int profile_is_fresh(const pg_profile_t *profile)
{
    return profile->strings.count == 1 && profile->func_count == 0 &&
           profile->node_count == 1 && profile->meta_count == 0 && profile->process_count == 0 &&
           profile->stages.count == 0 && profile->stages.span_count == 0 &&
           profile->metric_count == 0 && profile->thread_io_count == 0 &&
           profile->lines.count == 0;
}

/* The sections after the header, up to and including "END ". */
static int read_sections(pg_profile_t *profile, pg_cursor_t *in)
{
    unsigned seen = 0;
    for (;;) {
        const uint8_t *tag;
        pg_cursor_t payload;
        int rc = next_section(in, &tag, &payload);
        if (rc < 0)
            return rc;
        if (memcmp(tag, PG_FORMAT_END_TAG, 4) == 0) {
            /* Empty, last, and after every required section. */
            if (payload.size != 0 || pg_cursor_left(in) != 0 ||
                (seen & SECTIONS_REQUIRED) != SECTIONS_REQUIRED)
                return PG_ERR_CORRUPT;
            return PG_OK;
        }
        const section_parser_t *parser = find_parser(tag);
        if (!parser)
            continue; /* a later 1.x section: skipped, CRC already checked */
        if ((seen & parser->bit) || (seen & parser->after) != parser->after)
            return PG_ERR_CORRUPT;
        seen |= parser->bit;
        if ((rc = parser->parse(profile, &payload)) < 0)
            return rc;
        if (pg_cursor_left(&payload) != 0)
            return PG_ERR_CORRUPT; /* bytes the payload should not have */
    }
}

/* Zeroed (memset, or released) rather than initialised: owns no memory,
 * so the reader may initialise it itself. */
static int profile_is_zeroed(const pg_profile_t *profile)
{
    return !profile->strings.slots && !profile->strings.strings && !profile->funcs &&
           !profile->nodes && !profile->meta && !profile->thread_io && !profile->node_slots &&
           !profile->func_slots && !profile->processes && !profile->metrics && !profile->lines.rows &&
           profile->node_count == 0 && profile->func_count == 0 && profile->metric_count == 0;
}

int pg_profile_read_buffer(pg_profile_t *profile, const uint8_t *data, size_t size)
{
    if (!profile || (!data && size))
        return PG_ERR_ARG;
    int owned = profile_is_zeroed(profile);
    if (owned && pg_profile_init(profile) < 0)
        return PG_ERR_NOMEM;
    if (!profile_is_fresh(profile))
        return PG_ERR_ARG;
    pg_cursor_t in;
    pg_cursor_init(&in, data, size);
    int rc = read_header(&in);
    if (rc == PG_OK)
        rc = read_sections(profile, &in);
    if (rc < 0 && owned)
        pg_profile_release(profile); /* zeroed again, as the caller gave it */
    return rc;
}

/* The whole file into a malloc'd buffer; errno is kept on PG_ERR_IO. Reads
 * until EOF rather than trusting st_size, so pipes and growing files work;
 * st_size only sizes the first allocation. */
static int read_file(const char *path, uint8_t **data, size_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return PG_ERR_IO;
    struct stat st;
    size_t capacity = 64 * 1024, used = 0;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 &&
        (uint64_t)st.st_size < SIZE_MAX / 4)
        capacity = (size_t)st.st_size + 1; /* +1: meet EOF without growing */
    uint8_t *buffer = NULL;
    int rc = PG_OK;
    for (;;) {
        if (!buffer || used == capacity) {
            size_t grown = buffer ? capacity * 2 : capacity;
            uint8_t *bigger = grown > capacity || !buffer ? realloc(buffer, grown) : NULL;
            if (!bigger) {
                rc = PG_ERR_NOMEM;
                break;
            }
            buffer = bigger;
            capacity = grown;
        }
        ssize_t n = read(fd, buffer + used, capacity - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? PG_ERR_IO : PG_OK;
            break;
        }
        used += (size_t)n;
    }
    int saved = errno;
    close(fd);
    if (rc < 0) {
        free(buffer);
        buffer = NULL;
        used = 0;
    }
    *data = buffer;
    *size = used;
    errno = saved;
    return rc;
}

int pg_profile_read(pg_profile_t *profile, const char *path)
{
    if (!profile || !path)
        return PG_ERR_ARG;
    uint8_t *data = NULL;
    size_t size = 0;
    int rc = read_file(path, &data, &size);
    if (rc < 0)
        return rc;
    rc = pg_profile_read_buffer(profile, data, size);
    free(data);
    return rc;
}
