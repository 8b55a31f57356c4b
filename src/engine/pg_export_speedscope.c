/* speedscope's file format (https://www.speedscope.app/file-format-schema.json):
 * one "sampled" profile in nanoseconds.
 *
 * A deterministic profile has no samples, but its call tree maps onto the
 * sampled form exactly: shared.frames has one frame per function (frame
 * index == function index), and each call-tree node with a non-zero
 * exclusive time is one "sample", its stack (frame indexes from the
 * outermost call to the node) weighted by its exclusive time. speedscope's
 * left-heavy and sandwich views then show the same totals as the profile;
 * its time-order view shows the tree in call-tree order, not time order.
 *
 * The tree is walked twice (stacks, then weights) so nothing is buffered.
 */
#include <string.h>

#include "pg_error.h"
#include "pg_export.h"

static const char schema_url[] = "https://www.speedscope.app/file-format-schema.json";

static void put_json_text(pg_export_sink_t *sink, const pg_profile_t *profile, uint32_t index)
{
    pg_export_put(sink, "\"", 1);
    pg_export_put_json_string(sink, profile->strings.strings[index],
                              profile->strings.lengths[index]);
    pg_export_put(sink, "\"", 1);
}

static void put_frames(pg_export_sink_t *sink, const pg_profile_t *profile)
{
    pg_export_puts(sink, "\"shared\":{\"frames\":[");
    for (uint32_t i = 0; i < profile->func_count; i++) {
        const pg_func_t *f = &profile->funcs[i];
        pg_export_puts(sink, i ? ",\n{\"name\":" : "\n{\"name\":");
        put_json_text(sink, profile, f->name);
        if (f->kind != PG_FUNC_BUILTIN) {
            pg_export_puts(sink, ",\"file\":");
            put_json_text(sink, profile, f->file);
            pg_export_printf(sink, ",\"line\":%u", f->line);
        }
        pg_export_put(sink, "}", 1);
    }
    pg_export_puts(sink, "]}");
}

typedef struct speedscope_context {
    pg_export_sink_t *sink;
    uint64_t written; /* samples (or weights) written so far */
    uint64_t total;   /* sum of the weights written */
} speedscope_context_t;

static int visit_stack(void *context, const pg_export_tree_t *tree, const uint32_t *path,
                       uint32_t depth, int leaving)
{
    speedscope_context_t *c = context;
    if (leaving || depth == 0 || tree->exclusive_ns[path[depth]] == 0)
        return PG_OK;
    pg_export_puts(c->sink, c->written++ ? ",\n[" : "\n[");
    for (uint32_t level = 1; level <= depth; level++) {
        if (level > 1)
            pg_export_put(c->sink, ",", 1);
        pg_export_put_u64(c->sink, tree->profile->nodes[path[level]].func);
    }
    pg_export_put(c->sink, "]", 1);
    return c->sink->failed;
}

static int visit_weight(void *context, const pg_export_tree_t *tree, const uint32_t *path,
                        uint32_t depth, int leaving)
{
    speedscope_context_t *c = context;
    uint64_t weight = tree->exclusive_ns[path[depth]];
    if (leaving || depth == 0 || weight == 0)
        return PG_OK;
    /* a line break now and then keeps lines short for text tools */
    pg_export_puts(c->sink, c->written == 0 ? "" : c->written % 16 ? "," : ",\n");
    c->written++;
    pg_export_put_u64(c->sink, weight);
    c->total += weight;
    return c->sink->failed;
}

int pg_export_speedscope(pg_export_sink_t *sink, const pg_export_tree_t *tree,
                         pg_export_stats_t *stats)
{
    const pg_profile_t *profile = tree->profile;
    const char *name = pg_profile_meta_get(profile, "name");
    name = name && *name ? name : "pipegauge profile";
    pg_export_printf(sink, "{\"$schema\":\"%s\",\n\"exporter\":\"pipegauge\",\n\"name\":\"",
                     schema_url);
    pg_export_put_json_string(sink, name, strlen(name));
    pg_export_puts(sink, "\",\n\"activeProfileIndex\":0,\n");
    put_frames(sink, profile);
    pg_export_puts(sink, ",\n\"profiles\":[{\"type\":\"sampled\",\"name\":\"");
    pg_export_put_json_string(sink, name, strlen(name));
    pg_export_puts(sink, " (call tree, exclusive wall time)\",\"unit\":\"nanoseconds\","
                         "\"startValue\":0,\n\"samples\":[");
    speedscope_context_t context = {sink, 0, 0};
    int rc = pg_export_tree_walk(tree, visit_stack, &context);
    if (rc < 0)
        return rc;
    stats->records = context.written;
    pg_export_puts(sink, "],\n\"weights\":[");
    context.written = 0;
    if ((rc = pg_export_tree_walk(tree, visit_weight, &context)) < 0)
        return rc;
    pg_export_puts(sink, "],\n\"endValue\":");
    pg_export_put_u64(sink, context.total);
    pg_export_puts(sink, "}]}\n");
    return sink->failed;
}
