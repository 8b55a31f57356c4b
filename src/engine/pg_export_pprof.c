/* pprof: a gzipped perftools profile.proto message, encoded here by hand
 * (protobuf wire format: varint keys "field << 3 | wire type", varints,
 * length-delimited submessages whose sizes are computed before they are
 * written, so nothing is buffered).
 *
 * Layout written, field numbers of profile.proto's Profile message:
 *   1  sample_type   (wall, nanoseconds), (calls, count), (alloc_space, bytes)
 *   2  sample        one per call-tree node with time or calls: location ids
 *                    from the leaf up to the outermost call, values
 *                    [exclusive ns, calls, allocated bytes (0 until memory
 *                    data exists; the slot keeps the layout stable)]
 *   4  location      one per function, id = function index + 1, one Line
 *                    (function id, first line); no mapping (not native code)
 *   5  function      id = function index + 1, name and system_name, filename
 *                    ("" for builtins), start_line
 *   6  string_table  "" first, our fixed strings, then the profile's strings
 *   9  time_nanos, 10 duration_nanos, 11 period_type (wall, nanoseconds),
 *   12 period 1, 13 comment, 14 default_sample_type (wall)
 * Strings are UTF-8 cleaned (proto3 string fields must be valid UTF-8).
 */
#include <string.h>

#include "pg_bytes.h"
#include "pg_error.h"
#include "pg_export.h"

enum wire { VARINT = 0, LENGTH = 2 };

/* Our fixed strings, after "" at index 0; profile string i > 0 goes to
 * i + FIXED_STRINGS. */
enum {
    S_WALL = 1,
    S_NANOSECONDS,
    S_CALLS,
    S_COUNT,
    S_ALLOC_SPACE,
    S_BYTES,
    S_COMMENT_RAW,
    S_COMMENT_CORRECTED,
    FIXED_STRINGS = S_COMMENT_CORRECTED,
};

static const char *const fixed_strings[FIXED_STRINGS + 1] = {
    "", "wall", "nanoseconds", "calls", "count", "alloc_space", "bytes",
    "pipegauge: deterministic call tree; wall = exclusive wall time, raw",
    "pipegauge: deterministic call tree; wall = exclusive wall time, "
    "profiler overhead subtracted",
};

static uint64_t profile_string(uint32_t index)
{
    return index == 0 ? 0 : (uint64_t)index + FIXED_STRINGS;
}

static size_t varint_size(uint64_t value)
{
    size_t n = 1;
    while (value >= 0x80) {
        value >>= 7;
        n++;
    }
    return n;
}

static void put_varint(pg_export_sink_t *sink, uint64_t value)
{
    unsigned char bytes[PG_UV_MAX_BYTES];
    size_t n = 0;
    while (value >= 0x80) {
        bytes[n++] = (unsigned char)(value | 0x80);
        value >>= 7;
    }
    bytes[n++] = (unsigned char)value;
    pg_export_put(sink, bytes, n);
}

static void put_key(pg_export_sink_t *sink, uint32_t field, enum wire wire)
{
    put_varint(sink, (uint64_t)field << 3 | wire);
}

/* A varint field; size of the same. Keys of fields 1-15 are one byte. */
static void put_uint(pg_export_sink_t *sink, uint32_t field, uint64_t value)
{
    put_key(sink, field, VARINT);
    put_varint(sink, value);
}

static size_t uint_size(uint64_t value)
{
    return 1 + varint_size(value);
}

static void put_length(pg_export_sink_t *sink, uint32_t field, size_t length)
{
    put_key(sink, field, LENGTH);
    put_varint(sink, length);
}

static void put_value_type(pg_export_sink_t *sink, uint32_t field, uint64_t type,
                           uint64_t unit)
{
    put_length(sink, field, uint_size(type) + uint_size(unit));
    put_uint(sink, 1, type);
    put_uint(sink, 2, unit);
}

typedef struct pprof_context {
    pg_export_sink_t *sink;
    uint64_t samples;
} pprof_context_t;

static int visit_sample(void *context, const pg_export_tree_t *tree, const uint32_t *path,
                        uint32_t depth, int leaving)
{
    pprof_context_t *c = context;
    const pg_profile_t *profile = tree->profile;
    uint32_t node = path[depth];
    uint64_t wall = tree->exclusive_ns[node], calls = profile->nodes[node].calls;
    if (leaving || depth == 0 || (wall == 0 && calls == 0))
        return PG_OK;
    size_t locations = 0;
    for (uint32_t level = 1; level <= depth; level++)
        locations += varint_size((uint64_t)profile->nodes[path[level]].func + 1);
    size_t values = varint_size(wall) + varint_size(calls) + varint_size(0);
    size_t sample = 1 + varint_size(locations) + locations + 1 + varint_size(values) + values;
    put_length(c->sink, 2, sample);
    put_length(c->sink, 1, locations); /* packed location_id, leaf first */
    for (uint32_t level = depth; level >= 1; level--)
        put_varint(c->sink, (uint64_t)profile->nodes[path[level]].func + 1);
    put_length(c->sink, 2, values); /* packed value, in sample_type order */
    put_varint(c->sink, wall);
    put_varint(c->sink, calls);
    put_varint(c->sink, 0);
    c->samples++;
    return c->sink->failed;
}

static void put_locations_and_functions(pg_export_sink_t *sink, const pg_profile_t *profile)
{
    for (uint32_t i = 0; i < profile->func_count; i++) {
        const pg_func_t *f = &profile->funcs[i];
        uint64_t id = (uint64_t)i + 1;
        size_t line = uint_size(id) + uint_size(f->line);
        put_length(sink, 4, uint_size(id) + 1 + varint_size(line) + line);
        put_uint(sink, 1, id);
        put_length(sink, 4, line);
        put_uint(sink, 1, id);
        put_uint(sink, 2, f->line);
    }
    for (uint32_t i = 0; i < profile->func_count; i++) {
        const pg_func_t *f = &profile->funcs[i];
        uint64_t id = (uint64_t)i + 1, name = profile_string(f->name);
        uint64_t file = f->kind == PG_FUNC_BUILTIN ? 0 : profile_string(f->file);
        put_length(sink, 5, uint_size(id) + 2 * uint_size(name) + uint_size(file) +
                                uint_size(f->line));
        put_uint(sink, 1, id);
        put_uint(sink, 2, name);
        put_uint(sink, 3, name);
        put_uint(sink, 4, file);
        put_uint(sink, 5, f->line);
    }
}

static void put_string(pg_export_sink_t *sink, const char *text, size_t length)
{
    put_length(sink, 6, pg_export_utf8_clean_length(text, length));
    pg_export_put_utf8_clean(sink, text, length);
}

int pg_export_pprof(pg_export_sink_t *sink, const pg_export_tree_t *tree,
                    pg_export_stats_t *stats)
{
    const pg_profile_t *profile = tree->profile;
    put_value_type(sink, 1, S_WALL, S_NANOSECONDS);
    put_value_type(sink, 1, S_CALLS, S_COUNT);
    put_value_type(sink, 1, S_ALLOC_SPACE, S_BYTES);
    pprof_context_t context = {sink, 0};
    int rc = pg_export_tree_walk(tree, visit_sample, &context);
    if (rc < 0)
        return rc;
    stats->records = context.samples;
    put_locations_and_functions(sink, profile);
    for (uint32_t i = 0; i <= FIXED_STRINGS; i++)
        put_string(sink, fixed_strings[i], strlen(fixed_strings[i]));
    for (uint32_t i = 1; i < profile->strings.count; i++)
        put_string(sink, profile->strings.strings[i], profile->strings.lengths[i]);
    put_uint(sink, 9, profile->run.start_epoch_ns);
    put_uint(sink, 10, profile->run.duration_ns);
    put_value_type(sink, 11, S_WALL, S_NANOSECONDS);
    put_uint(sink, 12, 1);
    put_uint(sink, 13, tree->correct ? S_COMMENT_CORRECTED : S_COMMENT_RAW);
    put_uint(sink, 14, S_WALL);
    return sink->failed;
}
