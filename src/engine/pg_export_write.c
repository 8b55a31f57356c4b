/* pg_export_write(): checks the profile, builds the call tree view every
 * exporter walks, runs the exporter into a temporary file and renames it
 * over the target.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pg_error.h"
#include "pg_export.h"

static const char *const format_names[PG_EXPORT_FORMAT_COUNT] = {
    [PG_EXPORT_FOLDED] = "folded",
    [PG_EXPORT_SPEEDSCOPE] = "speedscope",
    [PG_EXPORT_PPROF] = "pprof",
    [PG_EXPORT_CHROME] = "chrome",
};

typedef int (*exporter_fn)(pg_export_sink_t *, const pg_export_tree_t *, pg_export_stats_t *);

/* One row per format: the writer and whether its bytes are gzipped. */
static const struct {
    exporter_fn write;
    int gzip;
} exporters[PG_EXPORT_FORMAT_COUNT] = {
    [PG_EXPORT_FOLDED] = {pg_export_folded, 0},
    [PG_EXPORT_SPEEDSCOPE] = {pg_export_speedscope, 0},
    [PG_EXPORT_PPROF] = {pg_export_pprof, 1},
    [PG_EXPORT_CHROME] = {pg_export_chrome, 0},
};

int pg_export_format_from_name(const char *name)
{
    for (int i = 0; name && i < PG_EXPORT_FORMAT_COUNT; i++)
        if (strcmp(name, format_names[i]) == 0)
            return i;
    return PG_ERR_ARG;
}

const char *pg_export_format_name(int format)
{
    return format >= 0 && format < PG_EXPORT_FORMAT_COUNT ? format_names[format] : NULL;
}

/* The invariants the exporters rely on to index arrays safely. */
static int check_profile(const pg_profile_t *profile)
{
    if (profile->node_count == 0 || profile->nodes[0].parent != PG_NONE ||
        profile->nodes[0].func != PG_NONE || profile->strings.count == 0)
        return PG_ERR_ARG;
    for (uint32_t i = 0; i < profile->func_count; i++)
        if (profile->funcs[i].name >= profile->strings.count ||
            profile->funcs[i].file >= profile->strings.count)
            return PG_ERR_ARG;
    for (uint32_t i = 1; i < profile->node_count; i++)
        if (profile->nodes[i].parent >= i || profile->nodes[i].func >= profile->func_count)
            return PG_ERR_ARG;
    return PG_OK;
}

/* Whole nanoseconds, truncated; non-finite or negative values are 0. */
static uint64_t whole_ns(double ns)
{
    if (!(ns > 0.0))
        return 0;
    if (ns >= 18446744073709549568.0) /* the largest double below 2^64 */
        return UINT64_MAX;
    return (uint64_t)ns;
}

static void tree_release(pg_export_tree_t *tree)
{
    pg_aggregate_release(&tree->aggregate);
    free(tree->first_child);
    free(tree->next_sibling);
    free(tree->inclusive_ns);
    free(tree->exclusive_ns);
    free(tree->path);
    memset(tree, 0, sizeof *tree);
}

static int tree_build(pg_export_tree_t *tree, const pg_profile_t *profile, int correct)
{
    memset(tree, 0, sizeof *tree);
    tree->profile = profile;
    tree->correct = correct != 0;
    uint32_t n = profile->node_count;
    int rc = pg_aggregate_build(&tree->aggregate, profile, correct);
    if (rc < 0)
        return rc;
    tree->first_child = malloc((size_t)n * sizeof(uint32_t));
    tree->next_sibling = malloc((size_t)n * sizeof(uint32_t));
    tree->inclusive_ns = malloc((size_t)n * sizeof(uint64_t));
    tree->exclusive_ns = malloc((size_t)n * sizeof(uint64_t));
    tree->path = malloc((size_t)n * sizeof(uint32_t));
    if (!tree->first_child || !tree->next_sibling || !tree->inclusive_ns ||
        !tree->exclusive_ns || !tree->path) {
        tree_release(tree);
        return PG_ERR_NOMEM;
    }
    memset(tree->first_child, 0xff, (size_t)n * sizeof(uint32_t));
    memset(tree->next_sibling, 0xff, (size_t)n * sizeof(uint32_t));
    /* A backward scan links each child in front: children end up in index
     * order. */
    for (uint32_t i = n; i-- > 1;) {
        uint32_t parent = profile->nodes[i].parent;
        tree->next_sibling[i] = tree->first_child[parent];
        tree->first_child[parent] = i;
    }
    for (uint32_t i = 0; i < n; i++) {
        tree->inclusive_ns[i] = whole_ns(tree->aggregate.node_inclusive_ns[i]);
        tree->exclusive_ns[i] = whole_ns(tree->aggregate.node_exclusive_ns[i]);
    }
    /* Aggregation results (per node: two doubles, one flag; per function
     * stats; at most one edge per node) plus the arrays above. */
    tree->working_bytes = (uint64_t)n * (2 * sizeof(double) + 1) +
                          ((uint64_t)profile->func_count + 1) * sizeof(pg_func_stats_t) +
                          (uint64_t)n * sizeof(pg_edge_t) +
                          (uint64_t)n * (3 * sizeof(uint32_t) + 2 * sizeof(uint64_t));
    return PG_OK;
}

int pg_export_tree_walk(const pg_export_tree_t *tree, pg_export_visit_fn visit, void *context)
{
    uint32_t *path = tree->path;
    uint32_t depth = 0;
    uint32_t node = PG_ROOT;
    path[0] = PG_ROOT;
    int rc = visit(context, tree, path, 0, 0);
    while (rc >= 0) {
        uint32_t child = tree->first_child[node];
        if (child != PG_NONE) {
            path[++depth] = node = child;
            rc = visit(context, tree, path, depth, 0);
            continue;
        }
        /* A leaf: leave it and every ancestor it was the last child of. */
        for (;;) {
            rc = visit(context, tree, path, depth, 1);
            if (rc < 0 || depth == 0)
                return rc < 0 ? rc : PG_OK;
            uint32_t sibling = tree->next_sibling[node];
            if (sibling != PG_NONE) {
                path[depth] = node = sibling;
                rc = visit(context, tree, path, depth, 0);
                break;
            }
            node = path[--depth];
        }
    }
    return rc;
}

/* Make the rename durable. Best effort: some file systems refuse fsync on
 * directories, and the file itself is already synced. */
static void sync_parent_directory(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *directory = slash ? strndup(path, (size_t)(slash - path) + 1) : strdup(".");
    if (!directory)
        return;
    int fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    free(directory);
}

/* Run the exporter into an open temporary file, then flush and sync it. */
static int export_into(FILE *file, int format, const pg_export_tree_t *tree,
                       pg_export_stats_t *stats)
{
    pg_export_sink_t sink;
    int rc = pg_export_sink_open(&sink, file, exporters[format].gzip);
    if (rc == PG_OK) {
        stats->working_bytes = tree->working_bytes + pg_export_sink_memory(&sink);
        rc = exporters[format].write(&sink, tree, stats);
        if (rc == PG_OK)
            rc = pg_export_sink_finish(&sink);
    }
    pg_export_sink_release(&sink);
    if (rc == PG_OK && (fflush(file) != 0 || fsync(fileno(file)) != 0))
        rc = PG_ERR_IO;
    if (rc == PG_OK)
        stats->bytes_written = (uint64_t)ftello(file);
    return rc;
}

int pg_export_write(const pg_profile_t *profile, int format, const char *path, int correct,
                    pg_export_stats_t *stats)
{
    pg_export_stats_t local;
    stats = stats ? stats : &local;
    memset(stats, 0, sizeof *stats);
    if (!profile || !path || !*path || !pg_export_format_name(format))
        return PG_ERR_ARG;
    int rc = check_profile(profile);
    if (rc < 0)
        return rc;
    pg_export_tree_t tree;
    if ((rc = tree_build(&tree, profile, correct)) < 0)
        return rc;
    size_t room = strlen(path) + 32;
    char *temp = malloc(room);
    if (!temp) {
        tree_release(&tree);
        return PG_ERR_NOMEM;
    }
    snprintf(temp, room, "%s.tmp-%ld", path, (long)getpid());
    /* O_NOFOLLOW: never write through a symlink planted at the temp name. */
    int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0666);
    FILE *file = fd >= 0 ? fdopen(fd, "wb") : NULL;
    int saved = errno;
    if (!file) {
        rc = PG_ERR_IO;
        if (fd >= 0) {
            close(fd);
            unlink(temp);
        }
    } else {
        rc = export_into(file, format, &tree, stats);
        saved = errno;
        if (fclose(file) != 0 && rc == PG_OK) {
            rc = PG_ERR_IO;
            saved = errno;
        }
        if (rc == PG_OK && rename(temp, path) != 0) {
            rc = PG_ERR_IO;
            saved = errno;
        }
        if (rc == PG_OK)
            sync_parent_directory(path);
        else
            unlink(temp);
    }
    free(temp);
    tree_release(&tree);
    errno = saved;
    return rc;
}
