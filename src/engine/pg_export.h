/* Exports: a profile written in another tool's format, streamed from C.
 *
 * Formats (docs/exports.md): collapsed stacks ("folded"), speedscope's JSON
 * file format, pprof's gzipped profile.proto and Chrome's trace-event JSON.
 *
 * Every exporter walks the call tree once or twice and writes as it goes
 * through a fixed-size buffer (pg_export_sink_t), so the working memory is a
 * few arrays proportional to the node count (the aggregation and the
 * children lists), never the output: a profile whose export is gigabytes
 * needs no more memory than one whose export is kilobytes.
 *
 * Writing goes to "<path>.tmp-<pid>" and is renamed over path after an
 * fsync, so a reader never sees a half-written export; on failure the
 * temporary file is removed and path is untouched.
 *
 * Times are integer nanoseconds, truncated (a floor, so that the sum of
 * truncated child times never exceeds the truncated parent time), taken
 * from pg_aggregate_build: overhead-corrected when asked.
 *
 * The second half of this header is shared by the exporter files only
 * (pg_export_*.c); callers outside the engine use the first half.
 */
#ifndef PG_EXPORT_H
#define PG_EXPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pg_aggregate.h"
#include "pg_profile.h"

typedef enum pg_export_format {
    PG_EXPORT_FOLDED = 0,     /* "frame;frame;frame <ns>" lines */
    PG_EXPORT_SPEEDSCOPE = 1, /* speedscope file format, one sampled profile */
    PG_EXPORT_PPROF = 2,      /* gzipped perftools profile.proto */
    PG_EXPORT_CHROME = 3,     /* Chrome trace-event JSON (Perfetto) */
    PG_EXPORT_FORMAT_COUNT = 4,
} pg_export_format_t;

/* What an export cost, for callers and tests. */
typedef struct pg_export_stats {
    uint64_t bytes_written;   /* bytes in the file (compressed for pprof) */
    uint64_t records;         /* lines, samples or events written */
    uint64_t working_bytes;   /* heap bytes the exporter holds while it
                                 writes: aggregation results, tree arrays,
                                 buffers (O(nodes); the aggregation's
                                 transient build arrays not counted) */
} pg_export_stats_t;

/* The format named name ("folded", "speedscope", "pprof", "chrome"), or
 * PG_ERR_ARG for any other name. */
int pg_export_format_from_name(const char *name);
/* The name of format; NULL when out of range. */
const char *pg_export_format_name(int format);

/* Write profile as format to path atomically. correct != 0 subtracts the
 * calibrated profiler overhead. stats may be NULL. Returns PG_OK,
 * PG_ERR_ARG (bad format, empty path, a profile breaking the invariants of
 * pg_profile.h), PG_ERR_NOMEM, or PG_ERR_IO with errno set. */
int pg_export_write(const pg_profile_t *profile, int format, const char *path, int correct,
                    pg_export_stats_t *stats);

/* ---- Shared by the exporters (pg_export_*.c) ---------------------------- */

#define PG_EXPORT_BUFFER_SIZE (64u * 1024u)

/* A buffered writer to a FILE* with a sticky error, optionally through a
 * gzip (zlib deflate) stream. After the first failure every put is a no-op,
 * failed holds the error code and errno the cause (PG_ERR_IO). */
typedef struct pg_export_sink {
    FILE *file;                 /* borrowed: the temporary file */
    unsigned char *buffer;      /* owned, PG_EXPORT_BUFFER_SIZE bytes */
    size_t used;                /* bytes waiting in buffer */
    void *zstream;              /* owned z_stream when gzipping, else NULL */
    unsigned char *zbuffer;     /* owned compressed-output buffer, or NULL */
    uint64_t bytes_in;          /* bytes put (before compression) */
    int failed;                 /* sticky: PG_OK, or the first error */
} pg_export_sink_t;

/* Start a sink on file (gzip != 0: compress with a gzip wrapper). On
 * failure the sink is still safe to release. */
int pg_export_sink_open(pg_export_sink_t *sink, FILE *file, int gzip);
/* Flush the buffer (and end the gzip stream) into the FILE*; the FILE* is
 * not flushed or closed. Returns PG_OK or the sticky error. */
int pg_export_sink_finish(pg_export_sink_t *sink);
void pg_export_sink_release(pg_export_sink_t *sink);
/* Heap bytes a sink holds (buffers and an estimate of zlib's state). */
uint64_t pg_export_sink_memory(const pg_export_sink_t *sink);

void pg_export_put(pg_export_sink_t *sink, const void *data, size_t size);
void pg_export_puts(pg_export_sink_t *sink, const char *text);
/* printf into the sink; one formatted item must fit 256 bytes. */
void pg_export_printf(pg_export_sink_t *sink, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
void pg_export_put_u64(pg_export_sink_t *sink, uint64_t value);

/* text as the inside of a JSON string (no quotes): '"', '\\' and control
 * characters escaped, U+2028/U+2029 escaped (so the text is also valid
 * JavaScript), and every byte sequence that is not well-formed UTF-8 replaced
 * by U+FFFD, so the output is always valid UTF-8 JSON. */
void pg_export_put_json_string(pg_export_sink_t *sink, const char *text, size_t length);

/* Length of text after replacing each ill-formed UTF-8 sequence by U+FFFD
 * (3 bytes), and the cleaned bytes themselves. */
size_t pg_export_utf8_clean_length(const char *text, size_t length);
void pg_export_put_utf8_clean(pg_export_sink_t *sink, const char *text, size_t length);

/* The call tree as children lists, and the per-node times an exporter
 * needs. Built once per export; O(nodes) memory. */
typedef struct pg_export_tree {
    const pg_profile_t *profile; /* borrowed */
    pg_aggregate_t aggregate;    /* owned */
    uint32_t *first_child;       /* owned: per node, first child or PG_NONE */
    uint32_t *next_sibling;      /* owned: per node, next sibling or PG_NONE */
    uint64_t *inclusive_ns;      /* owned: per node, truncated inclusive ns */
    uint64_t *exclusive_ns;      /* owned: per node, truncated exclusive ns */
    uint32_t *path;              /* owned scratch: node_count entries */
    int correct;                 /* 1 when times are overhead-corrected */
    uint64_t working_bytes;      /* heap bytes held by all of the above */
} pg_export_tree_t;

/* Visit one node of a depth-first walk: path[0..depth] are the nodes from
 * the root (path[0] == PG_ROOT) to the node (path[depth]). Called once on
 * entry (leaving == 0) and once on exit (leaving == 1), children in index
 * order. A negative return stops the walk and is returned by the walk. */
typedef int (*pg_export_visit_fn)(void *context, const pg_export_tree_t *tree,
                                  const uint32_t *path, uint32_t depth, int leaving);

int pg_export_tree_walk(const pg_export_tree_t *tree, pg_export_visit_fn visit,
                        void *context);

/* The exporters: write the whole document into sink. */
int pg_export_folded(pg_export_sink_t *sink, const pg_export_tree_t *tree,
                     pg_export_stats_t *stats);
int pg_export_speedscope(pg_export_sink_t *sink, const pg_export_tree_t *tree,
                         pg_export_stats_t *stats);
int pg_export_pprof(pg_export_sink_t *sink, const pg_export_tree_t *tree,
                    pg_export_stats_t *stats);
int pg_export_chrome(pg_export_sink_t *sink, const pg_export_tree_t *tree,
                     pg_export_stats_t *stats);

#endif
