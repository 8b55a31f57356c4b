#include "pg_profile.h"

#include <stdlib.h>
#include <string.h>

#include "pg_error.h"

static uint64_t mix64(uint64_t key)
{
    key ^= key >> 33;
    key *= 0xff51afd7ed558ccdull;
    key ^= key >> 33;
    return key;
}

static uint64_t node_key_hash(uint32_t parent, uint32_t func)
{
    return mix64(((uint64_t)parent << 32) | func);
}

static uint64_t func_key_hash(uint32_t name, uint32_t file, uint32_t line, uint32_t kind)
{
    return mix64(((uint64_t)name << 32 | file) ^ mix64((uint64_t)line << 8 | kind));
}

void *pg_array_reserve(void *items, uint32_t count, uint32_t *capacity, size_t item_size,
                       uint32_t initial)
{
    if (count < *capacity)
        return items;
    uint32_t grown = *capacity ? *capacity * 2 : initial;
    if (grown <= *capacity)
        return NULL; /* the capacity would overflow */
    void *moved = realloc(items, (size_t)grown * item_size);
    if (moved)
        *capacity = grown;
    return moved;
}

int pg_profile_init(pg_profile_t *profile)
{
    memset(profile, 0, sizeof *profile);
    profile->run.ns_per_unit = 1.0;
    pg_stage_table_init(&profile->stages);
    pg_line_table_init(&profile->lines);
    if (pg_strtab_init(&profile->strings) < 0)
        return PG_ERR_NOMEM;
    pg_node_t root = {.parent = PG_NONE, .func = PG_NONE};
    if (pg_profile_node_append(profile, &root) < 0) {
        pg_profile_release(profile);
        return PG_ERR_NOMEM;
    }
    return PG_OK;
}

void pg_profile_release(pg_profile_t *profile)
{
    for (uint32_t i = 0; i < profile->func_count; i++)
        pg_hist_release(&profile->funcs[i].hist);
    for (uint32_t i = 0; i < profile->meta_count; i++) {
        free(profile->meta[i].key);
        free(profile->meta[i].value);
    }
    for (uint32_t i = 0; i < profile->process_count; i++)
        free(profile->processes[i].role);
    free(profile->processes);
    for (uint32_t i = 0; i < profile->metric_count; i++)
        free(profile->metrics[i].values);
    free(profile->metrics);
    free(profile->funcs);
    free(profile->nodes);
    free(profile->meta);
    free(profile->thread_io);
    free(profile->node_slots);
    free(profile->func_slots);
    pg_strtab_release(&profile->strings);
    pg_stage_table_release(&profile->stages);
    pg_timeline_release(&profile->timeline);
    pg_line_table_release(&profile->lines);
    memset(profile, 0, sizeof *profile);
}

int pg_profile_meta_set(pg_profile_t *profile, const char *key, const char *value)
{
    char *value_copy = strdup(value);
    if (!value_copy)
        return PG_ERR_NOMEM;
    for (uint32_t i = 0; i < profile->meta_count; i++) {
        if (strcmp(profile->meta[i].key, key) == 0) {
            free(profile->meta[i].value);
            profile->meta[i].value = value_copy;
            return PG_OK;
        }
    }
    pg_meta_entry_t *meta = pg_array_reserve(profile->meta, profile->meta_count,
                                             &profile->meta_capacity, sizeof *meta, 16);
    if (!meta) {
        free(value_copy);
        return PG_ERR_NOMEM;
    }
    profile->meta = meta;
    char *key_copy = strdup(key);
    if (!key_copy) {
        free(value_copy);
        return PG_ERR_NOMEM;
    }
    profile->meta[profile->meta_count].key = key_copy;
    profile->meta[profile->meta_count].value = value_copy;
    profile->meta_count++;
    return PG_OK;
}

const char *pg_profile_meta_get(const pg_profile_t *profile, const char *key)
{
    for (uint32_t i = 0; i < profile->meta_count; i++)
        if (strcmp(profile->meta[i].key, key) == 0)
            return profile->meta[i].value;
    return NULL;
}

int pg_profile_process_add(pg_profile_t *profile, const pg_process_t *process)
{
    if (profile->process_count >= PG_NONE - 1)
        return PG_ERR_LIMIT;
    pg_process_t *processes = pg_array_reserve(profile->processes, profile->process_count,
                                               &profile->process_capacity, sizeof *processes, 8);
    if (!processes)
        return PG_ERR_NOMEM;
    profile->processes = processes;
    char *role = strdup(process->role ? process->role : "");
    if (!role)
        return PG_ERR_NOMEM;
    pg_process_t *entry = &profile->processes[profile->process_count++];
    *entry = *process;
    entry->role = role;
    return PG_OK;
}

void pg_profile_process_summary(const pg_profile_t *profile, pg_process_t *out)
{
    memset(out, 0, sizeof *out);
    out->start_epoch_ns = profile->run.start_epoch_ns;
    out->duration_ns = profile->run.duration_ns;
    out->events = profile->run.events;
    double busy_units = 0.0;
    for (uint32_t i = 1; i < profile->node_count; i++) {
        out->calls += profile->nodes[i].calls;
        if (profile->nodes[i].parent == PG_ROOT)
            busy_units += (double)profile->nodes[i].inclusive;
    }
    out->busy_ns = (uint64_t)(busy_units * profile->run.ns_per_unit + 0.5);
}

/* (Re)build an open-addressing index with room for at least want entries. */
static int rebuild_node_index(pg_profile_t *profile, uint32_t want)
{
    uint32_t size = 64;
    while (size < want * 2u + 2u)
        size *= 2;
    uint32_t *slots = calloc(size, sizeof(uint32_t));
    if (!slots)
        return PG_ERR_NOMEM;
    for (uint32_t i = 1; i < profile->node_count; i++) {
        uint64_t at = node_key_hash(profile->nodes[i].parent, profile->nodes[i].func) & (size - 1);
        while (slots[at])
            at = (at + 1) & (size - 1);
        slots[at] = i + 1;
    }
    free(profile->node_slots);
    profile->node_slots = slots;
    profile->node_slot_mask = size - 1;
    return PG_OK;
}

static int rebuild_func_index(pg_profile_t *profile, uint32_t want)
{
    uint32_t size = 64;
    while (size < want * 2u + 2u)
        size *= 2;
    uint32_t *slots = calloc(size, sizeof(uint32_t));
    if (!slots)
        return PG_ERR_NOMEM;
    for (uint32_t i = 0; i < profile->func_count; i++) {
        const pg_func_t *f = &profile->funcs[i];
        uint64_t at = func_key_hash(f->name, f->file, f->line, f->kind) & (size - 1);
        while (slots[at])
            at = (at + 1) & (size - 1);
        slots[at] = i + 1;
    }
    free(profile->func_slots);
    profile->func_slots = slots;
    profile->func_slot_mask = size - 1;
    return PG_OK;
}

int pg_profile_func_append(pg_profile_t *profile, uint32_t name, uint32_t file,
                           uint32_t line, uint32_t kind)
{
    if (profile->func_count >= PG_NONE - 1)
        return PG_ERR_LIMIT;
    pg_func_t *funcs = pg_array_reserve(profile->funcs, profile->func_count,
                                        &profile->func_capacity, sizeof *funcs, 64);
    if (!funcs)
        return PG_ERR_NOMEM;
    profile->funcs = funcs;
    pg_func_t *f = &profile->funcs[profile->func_count++];
    f->name = name;
    f->file = file;
    f->line = line;
    f->kind = kind;
    pg_hist_init(&f->hist);
    /* An index that exists must keep covering every function. */
    free(profile->func_slots);
    profile->func_slots = NULL;
    return PG_OK;
}

int64_t pg_profile_func_intern(pg_profile_t *profile, const char *name,
                               size_t name_length, const char *file,
                               size_t file_length, uint32_t line, uint32_t kind)
{
    int64_t name_index = pg_strtab_intern(&profile->strings, name, name_length);
    if (name_index < 0)
        return name_index;
    int64_t file_index = pg_strtab_intern(&profile->strings, file, file_length);
    if (file_index < 0)
        return file_index;
    if (!profile->func_slots && rebuild_func_index(profile, profile->func_count + 1) < 0)
        return PG_ERR_NOMEM;
    uint64_t at = func_key_hash((uint32_t)name_index, (uint32_t)file_index, line, kind) &
                  profile->func_slot_mask;
    for (uint32_t slot; (slot = profile->func_slots[at]) != 0;
         at = (at + 1) & profile->func_slot_mask) {
        const pg_func_t *f = &profile->funcs[slot - 1];
        if (f->name == name_index && f->file == file_index && f->line == line &&
            f->kind == kind)
            return slot - 1;
    }
    uint32_t *slots = profile->func_slots;
    uint32_t mask = profile->func_slot_mask;
    profile->func_slots = NULL; /* keep the index across the append */
    int rc = pg_profile_func_append(profile, (uint32_t)name_index, (uint32_t)file_index,
                                    line, kind);
    profile->func_slots = slots;
    profile->func_slot_mask = mask;
    if (rc < 0)
        return rc;
    uint32_t index = profile->func_count - 1;
    if ((uint64_t)profile->func_count * 2 > mask) {
        if (rebuild_func_index(profile, profile->func_count) < 0)
            return PG_ERR_NOMEM;
    } else {
        slots[at] = index + 1;
    }
    return index;
}

/* Grow every metric's values to capacity entries, zeroing the new ones.
 * Done before the nodes grow, so a failure leaves node_capacity unchanged
 * (an array that did grow keeps its extra zeroed entries: harmless). */
static int grow_metric_values(pg_profile_t *profile, uint32_t capacity)
{
    for (uint32_t i = 0; i < profile->metric_count; i++) {
        uint64_t *values = realloc(profile->metrics[i].values, (size_t)capacity * sizeof *values);
        if (!values)
            return PG_ERR_NOMEM;
        memset(values + profile->node_capacity, 0,
               (size_t)(capacity - profile->node_capacity) * sizeof *values);
        profile->metrics[i].values = values;
    }
    return PG_OK;
}

int pg_profile_node_append(pg_profile_t *profile, const pg_node_t *node)
{
    if (profile->node_count >= PG_NONE - 1)
        return PG_ERR_LIMIT;
    if (profile->metric_count && profile->node_count == profile->node_capacity) {
        /* the capacity pg_array_reserve is about to choose */
        uint32_t grown = profile->node_capacity ? profile->node_capacity * 2 : 256;
        if (grown <= profile->node_capacity || grow_metric_values(profile, grown) < 0)
            return PG_ERR_NOMEM;
    }
    pg_node_t *nodes = pg_array_reserve(profile->nodes, profile->node_count,
                                        &profile->node_capacity, sizeof *nodes, 256);
    if (!nodes)
        return PG_ERR_NOMEM;
    profile->nodes = nodes;
    profile->nodes[profile->node_count++] = *node;
    free(profile->node_slots);
    profile->node_slots = NULL;
    return PG_OK;
}

int64_t pg_profile_node_child(pg_profile_t *profile, uint32_t parent, uint32_t func)
{
    if (!profile->node_slots && rebuild_node_index(profile, profile->node_count + 1) < 0)
        return PG_ERR_NOMEM;
    uint32_t mask = profile->node_slot_mask;
    uint32_t *slots = profile->node_slots;
    uint64_t at = node_key_hash(parent, func) & mask;
    for (uint32_t slot; (slot = slots[at]) != 0; at = (at + 1) & mask) {
        const pg_node_t *n = &profile->nodes[slot - 1];
        if (n->parent == parent && n->func == func)
            return slot - 1;
    }
    pg_node_t node = {.parent = parent, .func = func};
    profile->node_slots = NULL; /* keep the index across the append */
    int rc = pg_profile_node_append(profile, &node);
    profile->node_slots = slots;
    if (rc < 0)
        return rc;
    uint32_t index = profile->node_count - 1;
    if ((uint64_t)profile->node_count * 2 > mask) {
        if (rebuild_node_index(profile, profile->node_count) < 0)
            return PG_ERR_NOMEM;
    } else {
        slots[at] = index + 1;
    }
    return index;
}

int pg_profile_metric_append(pg_profile_t *profile, uint32_t name, uint32_t unit, uint32_t merge)
{
    if (profile->metric_count >= PG_METRIC_LIMIT)
        return PG_ERR_LIMIT;
    if (merge > PG_METRIC_MAX || name >= profile->strings.count || unit >= profile->strings.count)
        return PG_ERR_ARG;
    pg_metric_t *metrics = pg_array_reserve(profile->metrics, profile->metric_count,
                                            &profile->metric_capacity, sizeof *metrics, 8);
    if (!metrics)
        return PG_ERR_NOMEM;
    profile->metrics = metrics;
    uint64_t *values = calloc(profile->node_capacity ? profile->node_capacity : 1, sizeof *values);
    if (!values)
        return PG_ERR_NOMEM;
    profile->metrics[profile->metric_count++] =
        (pg_metric_t){.name = name, .unit = unit, .merge = merge, .values = values};
    return PG_OK;
}

int64_t pg_profile_metric_find(const pg_profile_t *profile, const char *name)
{
    size_t length = strlen(name);
    for (uint32_t i = 0; i < profile->metric_count; i++) {
        uint32_t s = profile->metrics[i].name;
        if (pg_strtab_length(&profile->strings, s) == length &&
            memcmp(pg_strtab_get(&profile->strings, s), name, length) == 0)
            return i;
    }
    return -1;
}

int64_t pg_profile_metric_intern(pg_profile_t *profile, const char *name, const char *unit,
                                 pg_metric_merge_t merge)
{
    if (!name || !unit || !*name)
        return PG_ERR_ARG;
    int64_t found = pg_profile_metric_find(profile, name);
    int64_t unit_index = pg_strtab_intern(&profile->strings, unit, strlen(unit));
    if (unit_index < 0)
        return unit_index;
    if (found >= 0) {
        const pg_metric_t *m = &profile->metrics[found];
        return m->unit == unit_index && m->merge == (uint32_t)merge ? found : PG_ERR_ARG;
    }
    int64_t name_index = pg_strtab_intern(&profile->strings, name, strlen(name));
    if (name_index < 0)
        return name_index;
    int rc = pg_profile_metric_append(profile, (uint32_t)name_index, (uint32_t)unit_index,
                                      (uint32_t)merge);
    return rc < 0 ? rc : (int64_t)profile->metric_count - 1;
}

int pg_profile_metric_charge(pg_profile_t *profile, uint32_t metric, uint32_t node,
                             uint64_t value)
{
    if (metric >= profile->metric_count || node >= profile->node_count)
        return PG_ERR_ARG;
    pg_metric_t *m = &profile->metrics[metric];
    m->values[node] = pg_metric_combine(m->merge, m->values[node], value);
    return PG_OK;
}

void pg_profile_clear_counts(pg_profile_t *profile)
{
    for (uint32_t i = 0; i < profile->metric_count; i++)
        memset(profile->metrics[i].values, 0, (size_t)profile->node_count * sizeof(uint64_t));
    for (uint32_t i = 0; i < profile->func_count; i++) {
        pg_hist_release(&profile->funcs[i].hist);
    }
    profile->node_count = 1;
    memset(&profile->nodes[0], 0, sizeof profile->nodes[0]);
    profile->nodes[0].parent = PG_NONE;
    profile->nodes[0].func = PG_NONE;
    free(profile->node_slots);
    profile->node_slots = NULL;
    pg_line_table_clear(&profile->lines);
}

int pg_profile_line_charge(pg_profile_t *profile, uint32_t func, uint32_t line, uint64_t self,
                           uint64_t total, uint64_t hits)
{
    if (func >= profile->func_count)
        return PG_ERR_ARG;
    return pg_line_table_charge(&profile->lines, func, line, self, total, hits);
}

int pg_profile_thread_io_append(pg_profile_t *profile, const pg_thread_io_t *row)
{
    if (profile->thread_io_count >= PG_NONE - 2)
        return PG_ERR_LIMIT;
    pg_thread_io_t *rows = pg_array_reserve(profile->thread_io, profile->thread_io_count,
                                            &profile->thread_io_capacity, sizeof *rows, 8);
    if (!rows)
        return PG_ERR_NOMEM;
    profile->thread_io = rows;
    rows[profile->thread_io_count++] = *row;
    return PG_OK;
}

uint64_t pg_profile_memory(const pg_profile_t *profile)
{
    uint64_t bytes = profile->strings.bytes;
    bytes += (uint64_t)profile->func_capacity * sizeof(pg_func_t);
    bytes += (uint64_t)profile->node_capacity * sizeof(pg_node_t);
    bytes += (uint64_t)profile->meta_capacity * sizeof(pg_meta_entry_t);
    bytes += (uint64_t)profile->process_capacity * sizeof(pg_process_t);
    bytes += (uint64_t)profile->thread_io_capacity * sizeof(pg_thread_io_t);
    if (profile->node_slots)
        bytes += ((uint64_t)profile->node_slot_mask + 1) * sizeof(uint32_t);
    if (profile->func_slots)
        bytes += ((uint64_t)profile->func_slot_mask + 1) * sizeof(uint32_t);
    for (uint32_t i = 0; i < profile->func_count; i++)
        bytes += pg_hist_memory(&profile->funcs[i].hist);
    bytes += pg_stage_table_memory(&profile->stages);
    bytes += (uint64_t)profile->metric_capacity * sizeof(pg_metric_t);
    bytes += (uint64_t)profile->metric_count * profile->node_capacity * sizeof(uint64_t);
    bytes += pg_line_table_memory(&profile->lines);
    return bytes + pg_timeline_memory(&profile->timeline);
}

int pg_profile_copy(pg_profile_t *dst, const pg_profile_t *src)
{
    int rc = pg_profile_init(dst);
    if (rc < 0)
        return rc;
    for (uint32_t i = 1; i < src->strings.count; i++) {
        int64_t index = pg_strtab_intern(&dst->strings, src->strings.strings[i],
                                         src->strings.lengths[i]);
        if (index < 0) {
            rc = (int)index;
            goto error;
        }
    }
    for (uint32_t i = 0; i < src->func_count; i++) {
        const pg_func_t *f = &src->funcs[i];
        if ((rc = pg_profile_func_append(dst, f->name, f->file, f->line, f->kind)) < 0 ||
            (rc = pg_hist_merge(&dst->funcs[i].hist, &f->hist)) < 0)
            goto error;
    }
    for (uint32_t i = 0; i < src->metric_count; i++) {
        const pg_metric_t *m = &src->metrics[i];
        if ((rc = pg_profile_metric_append(dst, m->name, m->unit, m->merge)) < 0)
            goto error;
    }
    dst->node_count = 0;
    for (uint32_t i = 0; i < src->node_count; i++)
        if ((rc = pg_profile_node_append(dst, &src->nodes[i])) < 0)
            goto error;
    for (uint32_t i = 0; i < src->metric_count; i++)
        memcpy(dst->metrics[i].values, src->metrics[i].values,
               (size_t)src->node_count * sizeof(uint64_t));
    for (uint32_t i = 0; i < src->meta_count; i++)
        if ((rc = pg_profile_meta_set(dst, src->meta[i].key, src->meta[i].value)) < 0)
            goto error;
    for (uint32_t i = 0; i < src->process_count; i++)
        if ((rc = pg_profile_process_add(dst, &src->processes[i])) < 0)
            goto error;
    for (uint32_t i = 0; i < src->thread_io_count; i++)
        if ((rc = pg_profile_thread_io_append(dst, &src->thread_io[i])) < 0)
            goto error;
    dst->run = src->run;
    pg_stage_table_release(&dst->stages);
    if ((rc = pg_stage_table_copy(&dst->stages, &src->stages)) < 0)
        goto error;
    if ((rc = pg_timeline_copy(&dst->timeline, &src->timeline)) < 0)
        goto error;
    if ((rc = pg_line_table_copy(&dst->lines, &src->lines)) < 0)
        goto error;
    return PG_OK;
error:
    pg_profile_release(dst);
    return rc;
}
