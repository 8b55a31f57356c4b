#include "pg_test_files.h"

#include <dirent.h>
#include <unistd.h>

#include "pg_aggregate.h"
#include "pg_bytes.h"
#include "pg_format.h"
#include "pg_test.h"

void pg_test_mkdtemp(char *out, size_t size)
{
    const char *base = getenv("TMPDIR");
    snprintf(out, size, "%s/pg-test-XXXXXX", base && *base ? base : "/tmp");
    PG_CHECK(mkdtemp(out) != NULL);
}

void pg_test_rmdir(const char *directory)
{
    DIR *dir = opendir(directory);
    PG_CHECK(dir != NULL);
    char path[4096];
    for (struct dirent *entry; (entry = readdir(dir)) != NULL;) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", directory, entry->d_name);
        if (unlink(path) != 0)
            pg_test_rmdir(path); /* a directory a test made */
    }
    closedir(dir);
    PG_CHECK(rmdir(directory) == 0);
}

int pg_test_count_entries(const char *directory)
{
    DIR *dir = opendir(directory);
    PG_CHECK(dir != NULL);
    int count = 0;
    for (struct dirent *entry; (entry = readdir(dir)) != NULL;)
        count += strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0;
    closedir(dir);
    return count;
}

int pg_test_has_entry_containing(const char *directory, const char *needle)
{
    DIR *dir = opendir(directory);
    PG_CHECK(dir != NULL);
    int found = 0;
    for (struct dirent *entry; (entry = readdir(dir)) != NULL;)
        found |= strstr(entry->d_name, needle) != NULL;
    closedir(dir);
    return found;
}

static void check_same_double(double a, double b)
{
    PG_CHECK(memcmp(&a, &b, sizeof a) == 0);
}

uint32_t pg_test_add_func(pg_profile_t *profile, const char *name, const char *file,
                          uint32_t line, uint32_t kind)
{
    int64_t index =
        pg_profile_func_intern(profile, name, strlen(name), file, strlen(file), line, kind);
    PG_CHECK(index >= 0);
    return (uint32_t)index;
}

uint32_t pg_test_add_node(pg_profile_t *profile, uint32_t parent, uint32_t func,
                          uint64_t calls, uint64_t inclusive, uint64_t exclusive,
                          uint64_t events)
{
    int64_t index = pg_profile_node_child(profile, parent, func);
    PG_CHECK(index > 0);
    pg_node_t *node = &profile->nodes[index];
    node->calls = calls;
    node->inclusive = inclusive;
    node->exclusive = exclusive;
    node->events = events;
    return (uint32_t)index;
}

void pg_test_check_hists_equal(const pg_hist_t *a, const pg_hist_t *b)
{
    PG_CHECK_U64(a->count, b->count);
    PG_CHECK_U64(a->sum, b->sum);
    PG_CHECK_U64(a->min, b->min);
    PG_CHECK_U64(a->max, b->max);
    for (uint32_t bucket = 0; bucket < PG_HIST_BUCKETS; bucket++)
        PG_CHECK_U64(pg_hist_bucket_count(a, bucket), pg_hist_bucket_count(b, bucket));
}

static void check_run_equal(const pg_run_stats_t *a, const pg_run_stats_t *b)
{
    check_same_double(a->ns_per_unit, b->ns_per_unit);
    check_same_double(a->event_cost_ns, b->event_cost_ns);
    PG_CHECK_U64(a->events, b->events);
    PG_CHECK_U64(a->start_epoch_ns, b->start_epoch_ns);
    PG_CHECK_U64(a->duration_ns, b->duration_ns);
    PG_CHECK_U64(a->profiler_memory, b->profiler_memory);
    PG_CHECK_U64(a->threads, b->threads);
    PG_CHECK_U64(a->lost_events, b->lost_events);
    PG_CHECK_U64(a->unmatched_events, b->unmatched_events);
}

static void check_stages_equal(const pg_stage_table_t *a, const pg_stage_table_t *b)
{
    PG_CHECK_U64(a->count, b->count);
    for (uint32_t i = 0; i < a->count; i++) {
        const pg_stage_t *x = &a->stages[i], *y = &b->stages[i];
        PG_CHECK_U64(x->name_length, y->name_length);
        PG_CHECK(memcmp(x->name, y->name, x->name_length + 1) == 0);
        const uint64_t xs[] = {x->flags, x->invocations, x->records_in, x->records_out,
                               x->bytes, x->exceptions, x->own, x->upstream, x->nested,
                               x->suspended, x->wall, x->cpu_ns, x->cpu_invocations,
                               x->io_read_bytes, x->io_write_bytes, x->io_invocations,
                               x->mem_allocated, x->mem_activations};
        const uint64_t ys[] = {y->flags, y->invocations, y->records_in, y->records_out,
                               y->bytes, y->exceptions, y->own, y->upstream, y->nested,
                               y->suspended, y->wall, y->cpu_ns, y->cpu_invocations,
                               y->io_read_bytes, y->io_write_bytes, y->io_invocations,
                               y->mem_allocated, y->mem_activations};
        for (size_t f = 0; f < sizeof xs / sizeof xs[0]; f++)
            PG_CHECK_U64(xs[f], ys[f]);
        pg_test_check_hists_equal(&x->latency, &y->latency);
    }
    PG_CHECK_U64(a->span_count, b->span_count);
    PG_CHECK(a->span_count == 0 || memcmp(a->spans, b->spans,
                                          a->span_count * sizeof *a->spans) == 0);
    PG_CHECK_U64(a->coalesced, b->coalesced);
    PG_CHECK_U64(a->spans_dropped, b->spans_dropped);
    PG_CHECK_U64(a->lost, b->lost);
}

void pg_test_check_profiles_equal(const pg_profile_t *a, const pg_profile_t *b)
{
    check_stages_equal(&a->stages, &b->stages);
    check_run_equal(&a->run, &b->run);
    PG_CHECK_U64(a->meta_count, b->meta_count);
    for (uint32_t i = 0; i < a->meta_count; i++) {
        PG_CHECK(strcmp(a->meta[i].key, b->meta[i].key) == 0);
        PG_CHECK(strcmp(a->meta[i].value, b->meta[i].value) == 0);
    }
    PG_CHECK_U64(a->thread_io_count, b->thread_io_count);
    for (uint32_t i = 0; i < a->thread_io_count; i++) {
        const pg_thread_io_t *x = &a->thread_io[i], *y = &b->thread_io[i];
        PG_CHECK(x->tid == y->tid && x->flags == y->flags && strcmp(x->name, y->name) == 0);
        const uint64_t xs[] = {x->rchar, x->wchar, x->syscr, x->syscw, x->read_bytes,
                               x->write_bytes, x->hooked_read_bytes, x->hooked_write_bytes,
                               x->hooked_read_ops, x->hooked_write_ops, x->hooked_recv_bytes,
                               x->hooked_send_bytes, x->hooked_recv_ops, x->hooked_send_ops};
        const uint64_t ys[] = {y->rchar, y->wchar, y->syscr, y->syscw, y->read_bytes,
                               y->write_bytes, y->hooked_read_bytes, y->hooked_write_bytes,
                               y->hooked_read_ops, y->hooked_write_ops, y->hooked_recv_bytes,
                               y->hooked_send_bytes, y->hooked_recv_ops, y->hooked_send_ops};
        for (size_t c = 0; c < sizeof xs / sizeof xs[0]; c++)
            PG_CHECK_U64(xs[c], ys[c]);
    }
    PG_CHECK_U64(a->strings.count, b->strings.count);
    for (uint32_t i = 0; i < a->strings.count; i++) {
        PG_CHECK_U64(a->strings.lengths[i], b->strings.lengths[i]);
        PG_CHECK(memcmp(a->strings.strings[i], b->strings.strings[i],
                        a->strings.lengths[i] + 1) == 0);
    }
    PG_CHECK_U64(a->func_count, b->func_count);
    for (uint32_t i = 0; i < a->func_count; i++) {
        PG_CHECK_U64(a->funcs[i].name, b->funcs[i].name);
        PG_CHECK_U64(a->funcs[i].file, b->funcs[i].file);
        PG_CHECK_U64(a->funcs[i].line, b->funcs[i].line);
        PG_CHECK_U64(a->funcs[i].kind, b->funcs[i].kind);
        pg_test_check_hists_equal(&a->funcs[i].hist, &b->funcs[i].hist);
    }
    PG_CHECK_U64(a->node_count, b->node_count);
    for (uint32_t i = 0; i < a->node_count; i++) {
        const pg_node_t *x = &a->nodes[i], *y = &b->nodes[i];
        PG_CHECK_U64(x->parent, y->parent);
        PG_CHECK_U64(x->func, y->func);
        PG_CHECK_U64(x->calls, y->calls);
        PG_CHECK_U64(x->exc_exits, y->exc_exits);
        PG_CHECK_U64(x->events, y->events);
        PG_CHECK_U64(x->inclusive, y->inclusive);
        PG_CHECK_U64(x->exclusive, y->exclusive);
    }
    PG_CHECK_U64(a->metric_count, b->metric_count);
    for (uint32_t i = 0; i < a->metric_count; i++) {
        const pg_metric_t *x = &a->metrics[i], *y = &b->metrics[i];
        PG_CHECK_U64(x->name, y->name);
        PG_CHECK_U64(x->unit, y->unit);
        PG_CHECK_U64(x->merge, y->merge);
        for (uint32_t n = 0; n < a->node_count; n++)
            PG_CHECK_U64(x->values[n], y->values[n]);
    }
}

void pg_test_encode(const pg_profile_t *profile, uint8_t **data, size_t *size)
{
    pg_bytes_t image;
    pg_bytes_init(&image);
    PG_CHECK_RC(pg_profile_encode(profile, &image), PG_OK);
    *data = pg_bytes_detach(&image, size);
}

/* Use every part of an accepted profile the way a report would. */
static void use_profile(const pg_profile_t *profile)
{
    pg_aggregate_t agg = {0};
    PG_CHECK_RC(pg_aggregate_build(&agg, profile, 1), PG_OK);
    for (uint32_t i = 0; i < profile->func_count; i++) {
        double p50 = pg_hist_quantile(&profile->funcs[i].hist, 0.5);
        double p99 = pg_hist_quantile(&profile->funcs[i].hist, 0.99);
        PG_CHECK(p50 <= p99);
        PG_CHECK(agg.funcs[i].primitive_calls <= agg.funcs[i].calls);
    }
    pg_aggregate_release(&agg);
    /* Whatever is accepted can be written, reads back equal, and encodes
     * to the same bytes again (the encoding is canonical). The input itself
     * may differ: section order, skipped sections, a newer minor. */
    uint8_t *again, *twice;
    size_t again_size, twice_size;
    pg_test_encode(profile, &again, &again_size);
    pg_profile_t copy;
    PG_CHECK_RC(pg_profile_init(&copy), PG_OK);
    PG_CHECK_RC(pg_profile_read_buffer(&copy, again, again_size), PG_OK);
    pg_test_check_profiles_equal(profile, &copy);
    pg_test_encode(&copy, &twice, &twice_size);
    PG_CHECK(twice_size == again_size && memcmp(again, twice, again_size) == 0);
    pg_profile_release(&copy);
    free(again);
    free(twice);
}

int pg_test_read_and_use(const uint8_t *data, size_t size)
{
    pg_profile_t profile;
    PG_CHECK_RC(pg_profile_init(&profile), PG_OK);
    int rc = pg_profile_read_buffer(&profile, data, size);
    PG_CHECK(rc == PG_OK || rc == PG_ERR_NOT_PROFILE || rc == PG_ERR_VERSION ||
             rc == PG_ERR_TRUNCATED || rc == PG_ERR_CORRUPT || rc == PG_ERR_LIMIT);
    if (rc == PG_OK)
        use_profile(&profile);
    pg_profile_release(&profile);
    return rc;
}
