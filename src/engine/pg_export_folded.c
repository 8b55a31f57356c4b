/* Collapsed stacks ("folded"), the input of flamegraph.pl, inferno,
 * speedscope and Pyroscope's ingest:
 *
 *     main (etl.py:1);Loader.load (etl/io.py:40);<built-in method builtins.len> 1200
 *
 * One line per call-tree node with a non-zero exclusive time: the frames
 * from the outermost call to the node joined by ';', one space, then the
 * node's exclusive time in whole nanoseconds. A Python frame is
 * "qualified name (file:line)", a builtin is its cProfile label.
 *
 * Readers split a line at its last space and the stack at ';', so inside a
 * frame ';' becomes ':', and control characters (newline, tab, ...) and
 * the Unicode line separators U+0085, U+2028 and U+2029 (which some
 * line splitters honour, Python's str.splitlines among them) become a
 * space; ill-formed UTF-8 becomes U+FFFD. Spaces stay: the count is always
 * the text after the last space.
 */
#include "pg_error.h"
#include "pg_export.h"

/* text with the separators made harmless (see the file comment). */
static void put_frame_text(pg_export_sink_t *sink, const char *text, size_t length)
{
    const unsigned char *p = (const unsigned char *)text;
    size_t start = 0;
    for (size_t at = 0; at < length; at++) {
        size_t width = 1; /* bytes replaced */
        if (p[at] == 0xc2 && at + 1 < length && p[at + 1] == 0x85)
            width = 2; /* U+0085 */
        else if (p[at] == 0xe2 && at + 2 < length && p[at + 1] == 0x80 &&
                 (p[at + 2] == 0xa8 || p[at + 2] == 0xa9))
            width = 3; /* U+2028, U+2029 */
        else if (p[at] != ';' && p[at] >= 0x20 && p[at] != 0x7f)
            continue;
        pg_export_put_utf8_clean(sink, text + start, at - start);
        pg_export_put(sink, p[at] == ';' ? ":" : " ", 1);
        at += width - 1;
        start = at + 1;
    }
    pg_export_put_utf8_clean(sink, text + start, length - start);
}

static void put_frame(pg_export_sink_t *sink, const pg_profile_t *profile, uint32_t func)
{
    const pg_func_t *f = &profile->funcs[func];
    const pg_strtab_t *strings = &profile->strings;
    put_frame_text(sink, strings->strings[f->name], strings->lengths[f->name]);
    if (f->kind == PG_FUNC_BUILTIN)
        return;
    pg_export_put(sink, " (", 2);
    put_frame_text(sink, strings->strings[f->file], strings->lengths[f->file]);
    pg_export_printf(sink, ":%u)", f->line);
}

typedef struct folded_context {
    pg_export_sink_t *sink;
    pg_export_stats_t *stats;
} folded_context_t;

static int visit(void *context, const pg_export_tree_t *tree, const uint32_t *path,
                 uint32_t depth, int leaving)
{
    folded_context_t *c = context;
    uint32_t node = path[depth];
    if (leaving || depth == 0 || tree->exclusive_ns[node] == 0)
        return PG_OK;
    for (uint32_t level = 1; level <= depth; level++) {
        if (level > 1)
            pg_export_put(c->sink, ";", 1);
        put_frame(c->sink, tree->profile, tree->profile->nodes[path[level]].func);
    }
    pg_export_put(c->sink, " ", 1);
    pg_export_put_u64(c->sink, tree->exclusive_ns[node]);
    pg_export_put(c->sink, "\n", 1);
    c->stats->records++;
    return c->sink->failed;
}

int pg_export_folded(pg_export_sink_t *sink, const pg_export_tree_t *tree,
                     pg_export_stats_t *stats)
{
    folded_context_t context = {sink, stats};
    int rc = pg_export_tree_walk(tree, visit, &context);
    return rc < 0 ? rc : sink->failed;
}
