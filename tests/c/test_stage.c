/* pg_stage: names, latency with counts, the bounded span log and its
 * coalescing, copies, and the STGS/SSPN sections through the file. */
#include "pg_bytes.h"
#include "pg_error.h"
#include "pg_format.h"
#include "pg_merge.h"
#include "pg_stage.h"
#include "pg_test.h"
#include "pg_test_files.h"

static void test_intern(void)
{
    pg_stage_table_t table;
    pg_stage_table_init(&table);
    PG_CHECK_RC(pg_stage_intern(&table, "parse", 5), 0);
    PG_CHECK_RC(pg_stage_intern(&table, "load", 4), 1);
    PG_CHECK_RC(pg_stage_intern(&table, "parse", 5), 0);
    PG_CHECK_RC(pg_stage_intern(&table, "", 0), PG_ERR_ARG);
    PG_CHECK_RC(pg_stage_intern(&table, "a\0b", 3), PG_ERR_ARG);
    PG_CHECK_RC(pg_stage_find(&table, "load", 4), 1);
    PG_CHECK_RC(pg_stage_find(&table, "loa", 3), -1);
    PG_CHECK(strcmp(table.stages[1].name, "load") == 0);
    pg_stage_table_release(&table);
}

/* n observations of one value: exact count, sum, min, max, quantiles. */
static void test_latency(void)
{
    pg_stage_table_t table;
    pg_stage_table_init(&table);
    PG_CHECK_RC(pg_stage_intern(&table, "s", 1), 0);
    pg_stage_add_latency(&table, 0, 1000, 99);
    pg_stage_add_latency(&table, 0, 50000, 1);
    pg_stage_add_latency(&table, 0, 7, 0);  /* no records: nothing */
    pg_stage_add_latency(&table, 5, 7, 1);  /* no such stage: nothing */
    const pg_hist_t *h = &table.stages[0].latency;
    PG_CHECK_U64(h->count, 100);
    PG_CHECK_U64(h->sum, 99 * 1000 + 50000);
    PG_CHECK_U64(h->min, 1000);
    PG_CHECK_U64(h->max, 50000);
    PG_CHECK_NEAR(pg_hist_quantile(h, 0.5), 1000, 5);
    PG_CHECK_NEAR(pg_hist_quantile(h, 1.0), 50000, 1);
    pg_stage_table_release(&table);
}

static pg_stage_span_t span_of(uint32_t stage, uint64_t thread, uint64_t start, uint64_t end)
{
    pg_stage_span_t span = {.stage = stage, .thread = thread, .start = start, .end = end,
                            .busy = (end - start) / 2, .invocations = 1};
    return span;
}

/* The log never exceeds its limit; coalescing keeps every invocation and
 * the covered time of each (stage, thread); spans stay ordered by start. */
static void test_span_bound(void)
{
    pg_stage_table_t table;
    pg_stage_table_init(&table);
    table.span_limit = 64;
    PG_CHECK_RC(pg_stage_intern(&table, "a", 1), 0);
    PG_CHECK_RC(pg_stage_intern(&table, "b", 1), 1);
    pg_stage_span_t bad = span_of(2, 1, 0, 1);
    PG_CHECK_RC(pg_stage_span_add(&table, &bad), PG_ERR_ARG);
    bad = span_of(0, 1, 5, 4);
    PG_CHECK_RC(pg_stage_span_add(&table, &bad), PG_ERR_ARG);
    uint64_t busy_total = 0;
    for (uint64_t i = 0; i < 10000; i++) {
        pg_stage_span_t span = span_of((uint32_t)(i % 2), 100 + i % 4, i * 10, i * 10 + 8);
        busy_total += span.busy;
        PG_CHECK_RC(pg_stage_span_add(&table, &span), PG_OK);
        PG_CHECK(table.span_count <= 64);
    }
    PG_CHECK(table.coalesced > 0);
    PG_CHECK_U64(table.spans_dropped, 0);
    uint64_t invocations = 0, busy = 0;
    for (uint32_t i = 0; i < table.span_count; i++) {
        const pg_stage_span_t *s = &table.spans[i];
        invocations += s->invocations;
        busy += s->busy;
        PG_CHECK(s->busy <= s->end - s->start);
        PG_CHECK(s->thread % 2 == s->stage); /* groups never mix */
        if (i)
            PG_CHECK(table.spans[i - 1].start <= s->start);
    }
    PG_CHECK_U64(invocations, 10000);
    PG_CHECK_U64(busy, busy_total);
    PG_CHECK(pg_stage_table_memory(&table) < 64 * 1024);
    pg_stage_table_release(&table);
}

/* More (stage, thread) groups than the limit: new spans are dropped and
 * counted, the log stays bounded. */
static void test_span_drop(void)
{
    pg_stage_table_t table;
    pg_stage_table_init(&table);
    table.span_limit = 4;
    PG_CHECK_RC(pg_stage_intern(&table, "a", 1), 0);
    for (uint64_t t = 0; t < 10; t++) {
        pg_stage_span_t span = span_of(0, t, t, t + 1);
        PG_CHECK_RC(pg_stage_span_add(&table, &span), PG_OK);
    }
    PG_CHECK_U64(table.span_count, 4);
    PG_CHECK_U64(table.spans_dropped, 6);
    pg_stage_table_release(&table);
}

/* A profile with stages survives copy and the file, field by field;
 * broken tables are refused by the writer. */
static void test_file_round_trip(void)
{
    pg_profile_t profile, copy, read;
    PG_CHECK_RC(pg_profile_init(&profile), PG_OK);
    pg_stage_table_t *t = &profile.stages;
    PG_CHECK_RC(pg_stage_intern(t, "extract", 7), 0);
    PG_CHECK_RC(pg_stage_intern(t, "load", 4), 1);
    t->stages[0].records_out = 500;
    t->stages[0].own = 123456789;
    t->stages[1].flags = PG_STAGE_AUTO;
    pg_stage_add_latency(t, 0, 2000, 500);
    for (uint64_t i = 0; i < 3; i++) {
        pg_stage_span_t span = span_of((uint32_t)(i % 2), 7, i * 100, i * 100 + 90);
        PG_CHECK_RC(pg_stage_span_add(t, &span), PG_OK);
    }
    PG_CHECK_RC(pg_profile_copy(&copy, &profile), PG_OK);
    pg_test_check_profiles_equal(&profile, &copy);
    uint8_t *data;
    size_t size;
    pg_test_encode(&profile, &data, &size);
    memset(&read, 0, sizeof read);
    PG_CHECK_RC(pg_profile_read_buffer(&read, data, size), PG_OK);
    pg_test_check_profiles_equal(&profile, &read);
    free(data);
    pg_bytes_t out;
    pg_bytes_init(&out);
    t->spans[1].busy = t->spans[1].end - t->spans[1].start + 1;
    PG_CHECK_RC(pg_profile_encode(&profile, &out), PG_ERR_ARG);
    t->spans[1].busy = 0;
    t->stages[1].flags = 9;
    PG_CHECK_RC(pg_profile_encode(&profile, &out), PG_ERR_ARG);
    pg_bytes_release(&out);
    pg_profile_release(&profile);
    pg_profile_release(&copy);
    pg_profile_release(&read);
}

/* Merging the profiles of two processes: stages by name, counters added,
 * times in dst's unit, spans on the merged time line. */
static void test_merge(void)
{
    pg_profile_t parent, worker;
    PG_CHECK_RC(pg_profile_init(&parent), PG_OK);
    PG_CHECK_RC(pg_profile_init(&worker), PG_OK);
    parent.run.ns_per_unit = 1.0;
    parent.run.start_epoch_ns = 1000000;
    worker.run.ns_per_unit = 2.0; /* each worker unit is 2 parent units */
    worker.run.start_epoch_ns = 1000000 + 500;
    PG_CHECK_RC(pg_stage_intern(&parent.stages, "parse", 5), 0);
    PG_CHECK_RC(pg_stage_intern(&worker.stages, "load", 4), 0);
    PG_CHECK_RC(pg_stage_intern(&worker.stages, "parse", 5), 1);
    parent.stages.stages[0].records_out = 10;
    parent.stages.stages[0].own = 100;
    worker.stages.stages[1].records_out = 5;
    worker.stages.stages[1].own = 100;
    worker.stages.stages[1].cpu_ns = 7;
    parent.stages.stages[0].mem_allocated = 1000;
    parent.stages.stages[0].mem_activations = 2;
    worker.stages.stages[1].mem_allocated = 24;
    worker.stages.stages[1].mem_activations = 3;
    pg_stage_add_latency(&worker.stages, 1, 50, 5);
    pg_stage_span_t span = span_of(1, 99, 10, 30); /* busy 10 */
    PG_CHECK_RC(pg_stage_span_add(&worker.stages, &span), PG_OK);
    PG_CHECK_RC(pg_profile_merge(&parent, &worker), PG_OK);
    pg_stage_table_t *t = &parent.stages;
    PG_CHECK_U64(t->count, 2);
    PG_CHECK(strcmp(t->stages[1].name, "load") == 0);
    PG_CHECK_U64(t->stages[0].records_out, 15);
    PG_CHECK_U64(t->stages[0].own, 300);  /* 100 + 2 x 100 */
    PG_CHECK_U64(t->stages[0].cpu_ns, 7); /* ns: not scaled */
    PG_CHECK_U64(t->stages[0].mem_allocated, 1024); /* bytes: added */
    PG_CHECK_U64(t->stages[0].mem_activations, 5);
    PG_CHECK_U64(t->stages[0].latency.count, 5);
    PG_CHECK_U64(t->stages[0].latency.max, 100);
    PG_CHECK_U64(t->span_count, 1);
    PG_CHECK_U64(t->spans[0].stage, 0);
    PG_CHECK_U64(t->spans[0].start, 500 + 20);
    PG_CHECK_U64(t->spans[0].end, 500 + 60);
    PG_CHECK_U64(t->spans[0].busy, 20);
    uint8_t *data;
    size_t size;
    pg_test_encode(&parent, &data, &size); /* still a valid profile */
    free(data);
    pg_profile_release(&parent);
    pg_profile_release(&worker);
}

int main(void)
{
    test_merge();
    test_intern();
    test_latency();
    test_span_bound();
    test_span_drop();
    test_file_round_trip();
    return 0;
}
