/* The LINE section (optional; docs/format.md): line heat per (function,
 * line). Writer and validating reader in one place; pg_format.c and
 * pg_format_write.c call them from their section tables.
 *
 * Payload: uv count (>= 1), then count x (uv func, uv line, uv self,
 * uv total, uv hits). Rules: func < the FUNC count, line fits in 32 bits,
 * self <= total, (func, line) pairs unique.
 */
#include <string.h>

#include "pg_error.h"
#include "pg_format.h"

enum { MIN_LINE_BYTES = 5 }; /* func, line, self, total, hits */

int pg_format_lines_valid(const pg_profile_t *profile)
{
    const pg_line_table_t *table = &profile->lines;
    for (uint32_t i = 0; i < table->count; i++) {
        const pg_line_heat_t *row = &table->rows[i];
        if (row->func >= profile->func_count || row->self > row->total)
            return 0;
    }
    /* Uniqueness: a fresh table interning every pair must add one row each. */
    pg_line_table_t check;
    pg_line_table_init(&check);
    int valid = 1;
    for (uint32_t i = 0; valid && i < table->count; i++) {
        int64_t index = pg_line_table_intern(&check, table->rows[i].func, table->rows[i].line);
        if (index < 0)
            valid = (int)index;
        else if ((uint32_t)index != i)
            valid = 0;
    }
    pg_line_table_release(&check);
    return valid;
}

void pg_format_encode_lines(pg_bytes_t *out, const pg_profile_t *profile,
                            size_t (*begin)(pg_bytes_t *out, const char tag[4]),
                            void (*end)(pg_bytes_t *out, size_t payload_at))
{
    const pg_line_table_t *table = &profile->lines;
    if (table->count == 0)
        return; /* optional section */
    size_t at = begin(out, "LINE");
    pg_bytes_put_uv(out, table->count);
    for (uint32_t i = 0; i < table->count; i++) {
        const pg_line_heat_t *row = &table->rows[i];
        pg_bytes_put_uv(out, row->func);
        pg_bytes_put_uv(out, row->line);
        pg_bytes_put_uv(out, row->self);
        pg_bytes_put_uv(out, row->total);
        pg_bytes_put_uv(out, row->hits);
    }
    end(out, at);
}

int pg_format_parse_lines(pg_profile_t *profile, pg_cursor_t *in)
{
    uint64_t count = pg_cursor_uv(in);
    if (in->failed)
        return PG_ERR_CORRUPT;
    if (count > (uint64_t)PG_NONE - 2)
        return PG_ERR_LIMIT;
    if (count == 0 || count > pg_cursor_left(in) / MIN_LINE_BYTES)
        return PG_ERR_CORRUPT;
    for (uint64_t i = 0; i < count; i++) {
        uint64_t func = pg_cursor_uv(in);
        uint64_t line = pg_cursor_uv(in);
        uint64_t self = pg_cursor_uv(in);
        uint64_t total = pg_cursor_uv(in);
        uint64_t hits = pg_cursor_uv(in);
        if (in->failed || func >= profile->func_count || line > UINT32_MAX || self > total)
            return PG_ERR_CORRUPT;
        uint32_t before = profile->lines.count;
        int64_t index = pg_line_table_intern(&profile->lines, (uint32_t)func, (uint32_t)line);
        if (index < 0)
            return (int)index;
        if (profile->lines.count == before)
            return PG_ERR_CORRUPT; /* a (func, line) pair listed twice */
        pg_line_heat_t *row = &profile->lines.rows[index];
        row->self = self;
        row->total = total;
        row->hits = hits;
    }
    return PG_OK;
}
