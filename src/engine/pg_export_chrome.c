/* Chrome trace-event JSON (the "JSON Object Format" that chrome://tracing,
 * Perfetto and speedscope load).
 *
 * pipegauge does not record when each call happened, so the call tree is
 * drawn as an aggregated layout, not a chronological trace: on one track,
 * every call-tree node is one complete ("X") event whose duration is the
 * node's inclusive time summed over its calls; a node's children are laid
 * side by side from the start of its span, in call-tree order, so they
 * nest inside it like a flame graph turned on its side. Timestamps start
 * at 0 and only express that layout. Where overhead correction leaves the
 * children more time than their parent (the parent's own time was mostly
 * profiler overhead), a child's span is clipped to what is left of the
 * parent's; args.total_ns always carries the exact inclusive time.
 *
 * The document is a list of sections (see `sections` below): the pipeline
 * stage spans are one (real timestamps, a track per OS thread); the resource
 * timeline adds counter tracks (RSS, CPU %, I/O rate, threads, GPUs) in real
 * time since the start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_error.h"
#include "pg_export.h"

#define CHROME_PID 1
#define CALL_TREE_TID 1

typedef struct chrome_context {
    pg_export_sink_t *sink;
    const pg_export_tree_t *tree;
    pg_export_stats_t *stats;
    uint64_t *next_start; /* owned: per depth, where the next child starts, ns */
    uint64_t *span_end;   /* owned: per depth, the end of the open span, ns */
} chrome_context_t;

/* Opens an event in the traceEvents array (a separator after the first). */
static void begin_event(chrome_context_t *c)
{
    pg_export_puts(c->sink, c->stats->records++ ? ",\n{" : "\n{");
}

/* Microseconds, the unit of ts and dur, with nanosecond precision. */
static void put_microseconds(pg_export_sink_t *sink, uint64_t ns)
{
    pg_export_put_u64(sink, ns / 1000);
    pg_export_printf(sink, ".%03u", (unsigned)(ns % 1000));
}

static void put_name_metadata(chrome_context_t *c, const char *kind, int tid,
                              const char *prefix, const char *name)
{
    begin_event(c);
    pg_export_printf(c->sink, "\"name\":\"%s\",\"ph\":\"M\",\"pid\":%d,\"tid\":%d,"
                              "\"args\":{\"name\":\"%s",
                     kind, CHROME_PID, tid, prefix);
    pg_export_put_json_string(c->sink, name, strlen(name));
    pg_export_puts(c->sink, "\"}}");
}

static int put_metadata(chrome_context_t *c)
{
    const char *name = pg_profile_meta_get(c->tree->profile, "name");
    put_name_metadata(c, "process_name", CALL_TREE_TID, "pipegauge: ",
                      name && *name ? name : "profile");
    put_name_metadata(c, "thread_name", CALL_TREE_TID, "",
                      "call tree (aggregated layout, not a chronological trace)");
    return c->sink->failed;
}

static void put_node_event(chrome_context_t *c, uint32_t node, uint64_t start,
                           uint64_t duration)
{
    const pg_profile_t *profile = c->tree->profile;
    const pg_node_t *n = &profile->nodes[node];
    const pg_func_t *f = &profile->funcs[n->func];
    pg_export_sink_t *sink = c->sink;
    begin_event(c);
    pg_export_puts(sink, "\"name\":\"");
    pg_export_put_json_string(sink, profile->strings.strings[f->name],
                              profile->strings.lengths[f->name]);
    pg_export_printf(sink, "\",\"cat\":\"%s\",\"ph\":\"X\",\"pid\":%d,\"tid\":%d,\"ts\":",
                     f->kind == PG_FUNC_BUILTIN ? "builtin" : "python", CHROME_PID,
                     CALL_TREE_TID);
    put_microseconds(sink, start);
    pg_export_puts(sink, ",\"dur\":");
    put_microseconds(sink, duration);
    pg_export_puts(sink, ",\"args\":{\"file\":\"");
    pg_export_put_json_string(sink, profile->strings.strings[f->file],
                              profile->strings.lengths[f->file]);
    pg_export_printf(sink, "\",\"line\":%u,\"node\":%u,\"calls\":", f->line, node);
    pg_export_put_u64(sink, n->calls);
    pg_export_puts(sink, ",\"total_ns\":");
    pg_export_put_u64(sink, c->tree->inclusive_ns[node]);
    pg_export_puts(sink, ",\"self_ns\":");
    pg_export_put_u64(sink, c->tree->exclusive_ns[node]);
    pg_export_puts(sink, "}}");
}

static int visit_node(void *context, const pg_export_tree_t *tree, const uint32_t *path,
                      uint32_t depth, int leaving)
{
    chrome_context_t *c = context;
    if (leaving)
        return PG_OK;
    if (depth == 0) {
        /* the root is not drawn: top-level calls sit side by side from 0 */
        c->next_start[0] = 0;
        c->span_end[0] = UINT64_MAX;
        return PG_OK;
    }
    uint64_t start = c->next_start[depth - 1];
    uint64_t room = c->span_end[depth - 1] - start;
    uint64_t duration = tree->inclusive_ns[path[depth]];
    duration = duration < room ? duration : room;
    c->next_start[depth - 1] = start + duration;
    c->next_start[depth] = start;
    c->span_end[depth] = start + duration;
    put_node_event(c, path[depth], start, duration);
    return c->sink->failed;
}

static int put_call_tree(chrome_context_t *c)
{
    return pg_export_tree_walk(c->tree, visit_node, c);
}

/* Stage spans: one track per OS thread (tid = the OS thread id, which is
 * never the call-tree track's 1), one complete event per span, at its real
 * time since the run started. A coalesced span covers several invocations
 * (args.invocations). */
static int put_stage_thread_names(chrome_context_t *c)
{
    const pg_stage_table_t *table = &c->tree->profile->stages;
    uint64_t *seen = malloc((table->span_count ? table->span_count : 1) * sizeof *seen);
    if (!seen)
        return PG_ERR_NOMEM;
    c->stats->working_bytes += table->span_count * sizeof *seen;
    uint32_t distinct = 0;
    for (uint32_t i = 0; i < table->span_count; i++) {
        uint64_t thread = table->spans[i].thread;
        uint32_t k = 0;
        while (k < distinct && seen[k] != thread)
            k++;
        if (k < distinct)
            continue;
        seen[distinct++] = thread;
        char label[64];
        snprintf(label, sizeof label, "stages, thread %llu", (unsigned long long)thread);
        put_name_metadata(c, "thread_name", (int)thread, "", label);
    }
    free(seen);
    return c->sink->failed;
}

static int put_stage_spans(chrome_context_t *c)
{
    const pg_profile_t *profile = c->tree->profile;
    const pg_stage_table_t *table = &profile->stages;
    if (table->span_count == 0)
        return PG_OK;
    int rc = put_stage_thread_names(c);
    double unit = profile->run.ns_per_unit;
    for (uint32_t i = 0; rc == PG_OK && i < table->span_count; i++) {
        const pg_stage_span_t *span = &table->spans[i];
        const pg_stage_t *stage = &table->stages[span->stage];
        uint64_t start = (uint64_t)((double)span->start * unit);
        uint64_t end = (uint64_t)((double)span->end * unit);
        begin_event(c);
        pg_export_puts(c->sink, "\"name\":\"");
        pg_export_put_json_string(c->sink, stage->name, stage->name_length);
        pg_export_printf(c->sink, "\",\"cat\":\"stage\",\"ph\":\"X\",\"pid\":%d,\"tid\":%llu,"
                                  "\"ts\":", CHROME_PID, (unsigned long long)span->thread);
        put_microseconds(c->sink, start);
        pg_export_puts(c->sink, ",\"dur\":");
        put_microseconds(c->sink, end - start);
        pg_export_puts(c->sink, ",\"args\":{\"invocations\":");
        pg_export_put_u64(c->sink, span->invocations);
        pg_export_puts(c->sink, ",\"busy_ns\":");
        pg_export_put_u64(c->sink, (uint64_t)((double)span->busy * unit));
        pg_export_puts(c->sink, "}}");
        rc = c->sink->failed;
    }
    return rc;
}

/* One counter ("C") event: a value of the named counter from ts on. */
static void put_counter(chrome_context_t *c, const char *name, uint32_t device, uint64_t ts_ns,
                        const char *key, double value)
{
    begin_event(c);
    pg_export_printf(c->sink, "\"name\":\"%s", name);
    if (device != PG_NONE)
        pg_export_printf(c->sink, " %u", device);
    pg_export_printf(c->sink, "\",\"ph\":\"C\",\"pid\":%d,\"ts\":", CHROME_PID);
    put_microseconds(c->sink, ts_ns);
    pg_export_printf(c->sink, ",\"args\":{\"%s\":%.17g}}", key, value);
}

/* The resource timeline as counter tracks, in real time since the start
 * (unlike the call-tree layout): levels as sampled, amounts as rates. */
static int put_timeline(chrome_context_t *c)
{
    const pg_timeline_t *t = &c->tree->profile->timeline;
    for (uint32_t i = 0; i < t->count && !c->sink->failed; i++) {
        const pg_timeline_sample_t *s = &t->samples[i];
        double seconds = (double)s->dt_ns * 1e-9;
        put_counter(c, "RSS", PG_NONE, s->t_ns, "bytes", (double)s->rss_bytes);
        put_counter(c, "CPU", PG_NONE, s->t_ns, "percent",
                    (double)(s->cpu_user_ns + s->cpu_system_ns) / (double)s->dt_ns * 100.0);
        put_counter(c, "I/O", PG_NONE, s->t_ns, "bytes_per_s",
                    (double)(s->read_chars + s->write_chars) / seconds);
        put_counter(c, "threads", PG_NONE, s->t_ns, "threads", (double)s->threads);
        for (uint32_t d = 0; d < t->gpu_count; d++) {
            const pg_timeline_gpu_t *g = &t->gpu[i * t->gpu_count + d];
            put_counter(c, "GPU utilisation", d, s->t_ns, "percent",
                        (double)g->busy_ns / (double)s->dt_ns * 100.0);
            put_counter(c, "GPU memory", d, s->t_ns, "bytes", (double)g->memory_bytes);
        }
    }
    return c->sink->failed;
}

/* The trace, track by track: the call tree, the stage spans, the resource
 * counters; each section writes its events with begin_event(). */
typedef int (*chrome_section_fn)(chrome_context_t *);
static const chrome_section_fn sections[] = {put_metadata, put_call_tree, put_stage_spans,
                                             put_timeline};

int pg_export_chrome(pg_export_sink_t *sink, const pg_export_tree_t *tree,
                     pg_export_stats_t *stats)
{
    size_t levels = tree->profile->node_count;
    chrome_context_t context = {sink, tree, stats, malloc(levels * sizeof(uint64_t)),
                                malloc(levels * sizeof(uint64_t))};
    int rc = PG_ERR_NOMEM;
    if (!context.next_start || !context.span_end)
        goto done;
    stats->working_bytes += 2 * levels * sizeof(uint64_t);
    pg_export_puts(sink, "{\"traceEvents\":[");
    rc = PG_OK;
    for (size_t i = 0; rc == PG_OK && i < sizeof sections / sizeof sections[0]; i++)
        rc = sections[i](&context);
    if (rc < 0)
        goto done;
    pg_export_printf(sink,
                     "\n],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":{\"exporter\":"
                     "\"pipegauge\",\"layout\":\"aggregated call tree\","
                     "\"overhead_corrected\":%s}}\n",
                     tree->correct ? "true" : "false");
    rc = sink->failed;
done:
    free(context.next_start);
    free(context.span_end);
    return rc;
}
