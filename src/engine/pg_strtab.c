#include "pg_strtab.h"

#include <stdlib.h>
#include <string.h>

#include "pg_error.h"

static uint64_t hash_bytes(const char *text, size_t length)
{
    uint64_t hash = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < length; i++) {
        hash ^= (unsigned char)text[i];
        hash *= 1099511628211ull;
    }
    return hash;
}

int pg_strtab_init(pg_strtab_t *table)
{
    memset(table, 0, sizeof *table);
    table->slot_mask = 63;
    table->slots = calloc(table->slot_mask + 1, sizeof(uint32_t));
    if (!table->slots)
        return PG_ERR_NOMEM;
    table->bytes = (table->slot_mask + 1) * sizeof(uint32_t);
    if (pg_strtab_intern(table, "", 0) < 0) {
        pg_strtab_release(table);
        return PG_ERR_NOMEM;
    }
    return PG_OK;
}

void pg_strtab_release(pg_strtab_t *table)
{
    for (uint32_t i = 0; i < table->count; i++)
        free(table->strings[i]);
    free(table->strings);
    free(table->lengths);
    free(table->slots);
    memset(table, 0, sizeof *table);
}

static int grow_slots(pg_strtab_t *table)
{
    uint32_t mask = table->slot_mask * 2 + 1;
    uint32_t *slots = calloc((size_t)mask + 1, sizeof(uint32_t));
    if (!slots)
        return PG_ERR_NOMEM;
    for (uint32_t i = 0; i < table->count; i++) {
        uint64_t at = hash_bytes(table->strings[i], table->lengths[i]) & mask;
        while (slots[at])
            at = (at + 1) & mask;
        slots[at] = i + 1;
    }
    table->bytes += ((uint64_t)mask - table->slot_mask) * sizeof(uint32_t);
    free(table->slots);
    table->slots = slots;
    table->slot_mask = mask;
    return PG_OK;
}

static int grow_strings(pg_strtab_t *table)
{
    uint32_t capacity = table->capacity ? table->capacity * 2 : 64;
    char **strings = realloc(table->strings, capacity * sizeof(char *));
    if (!strings)
        return PG_ERR_NOMEM;
    table->strings = strings;
    uint32_t *lengths = realloc(table->lengths, capacity * sizeof(uint32_t));
    if (!lengths)
        return PG_ERR_NOMEM;
    table->lengths = lengths;
    table->bytes += (uint64_t)(capacity - table->capacity) *
                    (sizeof(char *) + sizeof(uint32_t));
    table->capacity = capacity;
    return PG_OK;
}

int64_t pg_strtab_intern(pg_strtab_t *table, const char *text, size_t length)
{
    if (length > UINT32_MAX - 1 || table->count == UINT32_MAX - 1)
        return PG_ERR_LIMIT;
    uint64_t at = hash_bytes(text, length) & table->slot_mask;
    for (uint32_t slot; (slot = table->slots[at]) != 0;
         at = (at + 1) & table->slot_mask) {
        uint32_t index = slot - 1;
        if (table->lengths[index] == length &&
            memcmp(table->strings[index], text, length) == 0)
            return index;
    }
    if ((uint64_t)(table->count + 1) * 2 > table->slot_mask) {
        if (grow_slots(table) < 0)
            return PG_ERR_NOMEM;
        return pg_strtab_intern(table, text, length);
    }
    if (table->count == table->capacity && grow_strings(table) < 0)
        return PG_ERR_NOMEM;
    char *copy = malloc(length + 1);
    if (!copy)
        return PG_ERR_NOMEM;
    memcpy(copy, text, length);
    copy[length] = '\0';
    uint32_t index = table->count++;
    table->strings[index] = copy;
    table->lengths[index] = (uint32_t)length;
    table->slots[at] = index + 1;
    table->bytes += length + 1;
    return index;
}

const char *pg_strtab_get(const pg_strtab_t *table, uint32_t index)
{
    return index < table->count ? table->strings[index] : NULL;
}

uint32_t pg_strtab_length(const pg_strtab_t *table, uint32_t index)
{
    return index < table->count ? table->lengths[index] : 0;
}
