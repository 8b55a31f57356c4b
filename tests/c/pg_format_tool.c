/* Test tool for the C/Python cross-check (format_crosscheck.py):
 *
 *   pg_format_tool samples DIR    write the sample profiles to DIR
 *   pg_format_tool dump FILE...   read each file with the C reader and print
 *                                 a canonical text dump, or its error
 *
 * The dump prints every field the format stores, doubles as their bit
 * patterns and strings as hex, so the Python side can produce the same
 * text from read_profile() and compare line for line.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "pg_error.h"
#include "pg_profile.h"
#include "pg_sample.h"

static const char *error_kind(int rc)
{
    switch (rc) {
    case PG_ERR_NOT_PROFILE:
        return "not_profile";
    case PG_ERR_VERSION:
        return "version";
    case PG_ERR_TRUNCATED:
        return "truncated";
    case PG_ERR_CORRUPT:
        return "corrupt";
    case PG_ERR_LIMIT:
        return "limit";
    case PG_ERR_IO:
        return "io";
    case PG_ERR_NOMEM:
        return "nomem";
    default:
        return "other";
    }
}

static void print_hex(const char *text, size_t length)
{
    putchar(' ');
    if (length == 0)
        putchar('-');
    for (size_t i = 0; i < length; i++)
        printf("%02x", (unsigned char)text[i]);
}

static uint64_t bits_of(double value)
{
    uint64_t bits;
    memcpy(&bits, &value, sizeof bits);
    return bits;
}

/* -1 for "none", the index otherwise. */
static int64_t signed_index(uint32_t index)
{
    return index == PG_NONE ? -1 : (int64_t)index;
}

static void dump_stages(const pg_stage_table_t *t);

static void dump_profile(const pg_profile_t *p)
{
    const pg_run_stats_t *r = &p->run;
    printf("run %016" PRIx64 " %016" PRIx64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
           " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
           bits_of(r->ns_per_unit), bits_of(r->event_cost_ns), r->events, r->start_epoch_ns,
           r->duration_ns, r->profiler_memory, r->threads, r->lost_events,
           r->unmatched_events);
    for (uint32_t i = 0; i < p->meta_count; i++) {
        printf("meta");
        print_hex(p->meta[i].key, strlen(p->meta[i].key));
        print_hex(p->meta[i].value, strlen(p->meta[i].value));
        putchar('\n');
    }
    for (uint32_t i = 0; i < p->thread_io_count; i++) {
        const pg_thread_io_t *t = &p->thread_io[i];
        printf("thread_io %" PRIu64, t->tid);
        print_hex(t->name, strlen(t->name));
        const uint64_t counters[] = {t->rchar, t->wchar, t->syscr, t->syscw, t->read_bytes,
                                     t->write_bytes, t->hooked_read_bytes,
                                     t->hooked_write_bytes, t->hooked_read_ops,
                                     t->hooked_write_ops, t->hooked_recv_bytes,
                                     t->hooked_send_bytes, t->hooked_recv_ops,
                                     t->hooked_send_ops};
        printf(" %u", t->flags);
        for (size_t c = 0; c < sizeof counters / sizeof counters[0]; c++)
            printf(" %" PRIu64, counters[c]);
        putchar('\n');
    }
    for (uint32_t i = 0; i < p->strings.count; i++) {
        printf("string");
        print_hex(p->strings.strings[i], p->strings.lengths[i]);
        putchar('\n');
    }
    for (uint32_t i = 0; i < p->func_count; i++) {
        const pg_func_t *f = &p->funcs[i];
        const pg_hist_t *h = &f->hist;
        printf("func %u %u %u %u %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64, f->name,
               f->file, f->line, f->kind, h->count, h->sum, h->min, h->max);
        for (uint32_t b = 0; b < PG_HIST_BUCKETS; b++) {
            uint64_t n = pg_hist_bucket_count(h, b);
            if (n)
                printf(" %u:%" PRIu64, b, n);
        }
        putchar('\n');
    }
    for (uint32_t i = 0; i < p->node_count; i++) {
        const pg_node_t *n = &p->nodes[i];
        printf("node %" PRId64 " %" PRId64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
               " %" PRIu64 "\n",
               signed_index(n->parent), signed_index(n->func), n->calls, n->exc_exits,
               n->events, n->inclusive, n->exclusive);
    }
    for (uint32_t i = 0; i < p->process_count; i++) {
        const pg_process_t *q = &p->processes[i];
        printf("process %u %u", q->pid, q->parent_pid);
        print_hex(q->role, strlen(q->role));
        printf(" %u %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", q->state,
               q->start_epoch_ns, q->duration_ns, q->events, q->calls, q->busy_ns);
    }
    dump_stages(&p->stages);
    for (uint32_t i = 0; i < p->metric_count; i++) {
        const pg_metric_t *m = &p->metrics[i];
        printf("metric %u %u %u", m->name, m->unit, m->merge);
        for (uint32_t n = 0; n < p->node_count; n++)
            if (m->values[n])
                printf(" %u:%" PRIu64, n, m->values[n]);
        putchar('\n');
    }
    for (uint32_t i = 0; i < p->lines.count; i++) {
        const pg_line_heat_t *l = &p->lines.rows[i];
        printf("line %u %u %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", l->func, l->line, l->self,
               l->total, l->hits);
    }
    const pg_timeline_t *t = &p->timeline;
    if (!pg_timeline_present(t))
        return;
    printf("timeline %" PRIu64 " %u %u\n", t->interval_ns, t->stride, t->count);
    for (uint32_t d = 0; d < t->gpu_count; d++) {
        printf("gpu");
        print_hex(t->devices[d].name, strlen(t->devices[d].name));
        printf(" %" PRIu64 "\n", t->devices[d].memory_total);
    }
    for (uint32_t i = 0; i < t->count; i++) {
        const pg_timeline_sample_t *s = &t->samples[i];
        printf("sample %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64
               " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64,
               s->t_ns, s->dt_ns, s->rss_bytes, s->threads, s->cpu_user_ns, s->cpu_system_ns,
               s->read_chars, s->write_chars, s->read_bytes, s->write_bytes);
        for (uint32_t d = 0; d < t->gpu_count; d++) {
            const pg_timeline_gpu_t *g = &t->gpu[i * t->gpu_count + d];
            printf(" %" PRIu64 ":%" PRIu64 ":%" PRIu64, g->busy_ns, g->memory_bytes,
                   g->process_bytes);
        }
        putchar('\n');
    }
}

static void dump_stages(const pg_stage_table_t *t)
{
    for (uint32_t i = 0; i < t->count; i++) {
        const pg_stage_t *s = &t->stages[i];
        const pg_hist_t *h = &s->latency;
        printf("stage");
        print_hex(s->name, s->name_length);
        const uint64_t fields[] = {s->flags, s->invocations, s->records_in, s->records_out,
                                   s->bytes, s->exceptions, s->own, s->upstream, s->nested,
                                   s->suspended, s->wall, s->cpu_ns, s->cpu_invocations,
                                   s->io_read_bytes, s->io_write_bytes, s->io_invocations,
                                   s->mem_allocated, s->mem_activations,
                                   h->count, h->sum, h->min, h->max};
        for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
            printf(" %" PRIu64, fields[f]);
        for (uint32_t b = 0; b < PG_HIST_BUCKETS; b++) {
            uint64_t n = pg_hist_bucket_count(h, b);
            if (n)
                printf(" %u:%" PRIu64, b, n);
        }
        putchar('\n');
    }
    if (t->count)
        printf("stagelog %u %" PRIu64 " %" PRIu64 "\n", t->coalesced, t->spans_dropped,
               t->lost);
    for (uint32_t i = 0; i < t->span_count; i++) {
        const pg_stage_span_t *s = &t->spans[i];
        printf("span %u %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
               s->stage, s->thread, s->start, s->end, s->busy, s->invocations);
    }
}

static int dump_files(int count, char **paths)
{
    for (int i = 0; i < count; i++) {
        pg_profile_t profile;
        if (pg_profile_init(&profile) < 0)
            return 1;
        printf("file %s\n", paths[i]);
        int rc = pg_profile_read(&profile, paths[i]);
        if (rc < 0)
            printf("error %s\n", error_kind(rc));
        else
            dump_profile(&profile);
        pg_profile_release(&profile);
    }
    return 0;
}

static int write_samples(const char *directory)
{
    for (unsigned variant = 0; variant < PG_SAMPLE_VARIANTS; variant++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/sample-%u.pgprof", directory, variant);
        pg_profile_t profile;
        int rc = pg_profile_init(&profile);
        if (rc == PG_OK)
            rc = pg_sample_build(&profile, variant);
        if (rc == PG_OK)
            rc = pg_profile_write(&profile, path);
        pg_profile_release(&profile);
        if (rc < 0) {
            fprintf(stderr, "%s: %s (%s)\n", path, pg_error_message(rc), strerror(errno));
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "samples") == 0)
        return write_samples(argv[2]);
    if (argc >= 2 && strcmp(argv[1], "dump") == 0)
        return dump_files(argc - 2, argv + 2);
    fprintf(stderr, "usage: %s samples DIR | dump FILE...\n", argv[0]);
    return 2;
}
