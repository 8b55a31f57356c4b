/* pg_line_table: see pg_lines.h. */
#include "pg_lines.h"

#include <stdlib.h>
#include <string.h>

#include "pg_error.h"

static uint64_t line_key_hash(uint32_t func, uint32_t line)
{
    uint64_t key = ((uint64_t)func << 32) | line;
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    key *= 0xc4ceb9fe1a85ec53ull;
    key ^= key >> 33;
    return key;
}

void pg_line_table_init(pg_line_table_t *table)
{
    memset(table, 0, sizeof *table);
}

void pg_line_table_release(pg_line_table_t *table)
{
    free(table->rows);
    free(table->slots);
    memset(table, 0, sizeof *table);
}

void pg_line_table_clear(pg_line_table_t *table)
{
    table->count = 0;
    free(table->slots);
    table->slots = NULL;
    table->slot_mask = 0;
}

/* (Re)build the index with room for at least want rows at load <= 1/2. */
static int rebuild_index(pg_line_table_t *table, uint32_t want)
{
    uint64_t size = 64;
    while (size < (uint64_t)want * 2u + 2u)
        size *= 2;
    if (size > UINT32_MAX)
        return PG_ERR_LIMIT;
    uint32_t *slots = calloc((size_t)size, sizeof *slots);
    if (!slots)
        return PG_ERR_NOMEM;
    uint32_t mask = (uint32_t)(size - 1);
    for (uint32_t i = 0; i < table->count; i++) {
        uint64_t at = line_key_hash(table->rows[i].func, table->rows[i].line) & mask;
        while (slots[at])
            at = (at + 1) & mask;
        slots[at] = i + 1;
    }
    free(table->slots);
    table->slots = slots;
    table->slot_mask = mask;
    return PG_OK;
}

int pg_line_table_append(pg_line_table_t *table, const pg_line_heat_t *row)
{
    if (table->count >= UINT32_MAX / 4)
        return PG_ERR_LIMIT;
    if (table->count == table->capacity) {
        uint32_t grown = table->capacity ? table->capacity * 2 : 64;
        pg_line_heat_t *rows = realloc(table->rows, (size_t)grown * sizeof *rows);
        if (!rows)
            return PG_ERR_NOMEM;
        table->rows = rows;
        table->capacity = grown;
    }
    table->rows[table->count++] = *row;
    /* An index that exists must keep covering every row. */
    free(table->slots);
    table->slots = NULL;
    table->slot_mask = 0;
    return PG_OK;
}

/* Slot of (func, line): the one holding it, or the empty one where it
 * would go. The index exists (callers build it first). */
static uint64_t find_slot(const pg_line_table_t *table, uint32_t func, uint32_t line)
{
    uint64_t at = line_key_hash(func, line) & table->slot_mask;
    for (uint32_t slot; (slot = table->slots[at]) != 0; at = (at + 1) & table->slot_mask) {
        const pg_line_heat_t *row = &table->rows[slot - 1];
        if (row->func == func && row->line == line)
            break;
    }
    return at;
}

int64_t pg_line_table_find(pg_line_table_t *table, uint32_t func, uint32_t line)
{
    if (table->count == 0)
        return -1;
    if (!table->slots && rebuild_index(table, table->count) < 0) {
        for (uint32_t i = 0; i < table->count; i++) /* no memory: scan */
            if (table->rows[i].func == func && table->rows[i].line == line)
                return i;
        return -1;
    }
    uint32_t slot = table->slots[find_slot(table, func, line)];
    return slot ? (int64_t)slot - 1 : -1;
}

int64_t pg_line_table_intern(pg_line_table_t *table, uint32_t func, uint32_t line)
{
    int rc;
    if (!table->slots && (rc = rebuild_index(table, table->count + 1)) < 0)
        return rc;
    uint64_t at = find_slot(table, func, line);
    if (table->slots[at])
        return (int64_t)table->slots[at] - 1;
    pg_line_heat_t row = {.func = func, .line = line};
    uint32_t *slots = table->slots;
    uint32_t mask = table->slot_mask;
    table->slots = NULL; /* keep the index across the append */
    rc = pg_line_table_append(table, &row);
    table->slots = slots;
    table->slot_mask = mask;
    if (rc < 0)
        return rc;
    uint32_t index = table->count - 1;
    if ((uint64_t)table->count * 2 > mask) {
        if ((rc = rebuild_index(table, table->count)) < 0)
            return rc;
    } else {
        slots[at] = index + 1;
    }
    return index;
}

int pg_line_table_charge(pg_line_table_t *table, uint32_t func, uint32_t line, uint64_t self,
                         uint64_t total, uint64_t hits)
{
    int64_t index = pg_line_table_intern(table, func, line);
    if (index < 0)
        return (int)index;
    pg_line_heat_t *row = &table->rows[index];
    row->self += self;
    row->total += total;
    row->hits += hits;
    return PG_OK;
}

int pg_line_table_copy(pg_line_table_t *dst, const pg_line_table_t *src)
{
    pg_line_table_init(dst);
    if (src->count == 0)
        return PG_OK;
    dst->rows = malloc((size_t)src->count * sizeof *dst->rows);
    if (!dst->rows)
        return PG_ERR_NOMEM;
    memcpy(dst->rows, src->rows, (size_t)src->count * sizeof *dst->rows);
    dst->count = dst->capacity = src->count;
    return PG_OK;
}

uint64_t pg_line_table_memory(const pg_line_table_t *table)
{
    uint64_t bytes = (uint64_t)table->capacity * sizeof(pg_line_heat_t);
    if (table->slots)
        bytes += ((uint64_t)table->slot_mask + 1) * sizeof(uint32_t);
    return bytes;
}
