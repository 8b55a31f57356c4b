/* The profile file, format 1.x (specified in docs/format.md).
 *
 * pg_profile.h declares the file entry points (pg_profile_write,
 * pg_profile_read, pg_profile_read_buffer); this header adds the version
 * constants and the in-memory encoder that the writer, the tests and the
 * fuzz target share.
 *
 * Layout in one breath: a 16-byte header (magic, u16 major, u16 minor,
 * u32 flags), then sections (u32 tag, u32 CRC-32 of the payload, u64 payload
 * length, payload) ending with an empty "END " section. Payload integers are
 * LEB128 varints. Readers accept any 1.x file: unknown sections are skipped.
 */
#ifndef PG_FORMAT_H
#define PG_FORMAT_H

#include "pg_bytes.h"
#include "pg_profile.h"

#define PG_FORMAT_MAGIC "\x89PGPROF\n" /* 8 bytes, no terminator stored */
#define PG_FORMAT_MAGIC_SIZE 8
#define PG_FORMAT_HEADER_SIZE 16
#define PG_FORMAT_SECTION_HEADER_SIZE 16 /* tag, crc, length */
#define PG_FORMAT_MAJOR 1
#define PG_FORMAT_MINOR 1
#define PG_FORMAT_END_TAG "END " /* the last section; 4 bytes stored */

/* Append the complete file image of profile to out. Returns PG_ERR_ARG when
 * the profile breaks an invariant the reader checks (so every image written
 * is readable), PG_ERR_NOMEM when out cannot grow. On error out holds an
 * unspecified prefix. */
int pg_profile_encode(const pg_profile_t *profile, pg_bytes_t *out);

/* Rules both sides enforce: the writer reports a breach as PG_ERR_ARG, the
 * reader as PG_ERR_CORRUPT (implemented in pg_format.c). */

/* ns_per_unit finite and > 0, event_cost_ns finite and >= 0. */
int pg_format_run_valid(const pg_run_stats_t *run);
/* A histogram header as stored: an empty one is all zeros (min too);
 * otherwise min <= max. */
int pg_format_hist_header_valid(uint64_t count, uint64_t sum, uint64_t min, uint64_t max);
/* 1 when two of nodes[1..count) share (parent, func), 0 when none do, or
 * PG_ERR_NOMEM. */
int pg_format_node_pairs_duplicated(const pg_node_t *nodes, uint32_t count);
/* The stage table: names non-empty, NUL-free and unique; every span
 * valid (pg_stage.h invariants, end - start computed without overflow). */
int pg_format_stages_valid(const pg_stage_table_t *table);
/* The timeline rules (TLIN/TGPU): interval and stride > 0, at most
 * PG_FORMAT_TIMELINE_MAX samples, each dt_ns > 0, in order without overlap,
 * ends within 2^64; device names without NUL; GPU busy_ns <= dt_ns. An
 * absent timeline is valid. No pending partial sample. */
#define PG_FORMAT_TIMELINE_MAX (1u << 24)
int pg_format_timeline_valid(const pg_timeline_t *timeline);
/* 1 when two metadata entries share a key, 0 when none do, or PG_ERR_NOMEM. */
int pg_format_meta_keys_duplicated(const pg_profile_t *profile);
/* An I/O row (ITHR): name NUL-terminated within PG_THREAD_NAME_SIZE, known
 * flags only, tid 0 exactly when PG_THREAD_IO_PROCESS is set. */
int pg_format_thread_io_valid(const pg_thread_io_t *row);

/* Line heat (LINE, pg_format_lines.c): every row's func < func_count and
 * self <= total, (func, line) pairs unique. 1 valid, 0 not, or PG_ERR_NOMEM. */
int pg_format_lines_valid(const pg_profile_t *profile);
/* Append the LINE section (nothing when there is no line heat); begin and
 * end are the writer's section framing. */
void pg_format_encode_lines(pg_bytes_t *out, const pg_profile_t *profile,
                            size_t (*begin)(pg_bytes_t *out, const char tag[4]),
                            void (*end)(pg_bytes_t *out, size_t payload_at));
/* Parse a LINE payload into profile->lines (FUNC already read). */
int pg_format_parse_lines(pg_profile_t *profile, pg_cursor_t *in);

#endif
