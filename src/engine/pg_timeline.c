#include "pg_timeline.h"

#include <stdlib.h>
#include <string.h>

#include "pg_error.h"

int pg_timeline_init(pg_timeline_t *timeline, uint32_t capacity, uint64_t interval_ns)
{
    memset(timeline, 0, sizeof *timeline);
    if (interval_ns == 0 || capacity > (1u << 24))
        return PG_ERR_ARG;
    capacity = capacity < 2 ? 2 : (capacity + 1) & ~1u;
    timeline->samples = calloc(capacity, sizeof *timeline->samples);
    if (!timeline->samples)
        return PG_ERR_NOMEM;
    timeline->capacity = capacity;
    timeline->stride = 1;
    timeline->interval_ns = interval_ns;
    return PG_OK;
}

void pg_timeline_release(pg_timeline_t *timeline)
{
    free(timeline->samples);
    free(timeline->gpu);
    for (uint32_t d = 0; d < timeline->gpu_count; d++)
        free(timeline->devices[d].name);
    memset(timeline, 0, sizeof *timeline);
}

int pg_timeline_add_device(pg_timeline_t *timeline, const char *name, uint64_t memory_total)
{
    if (!pg_timeline_present(timeline) || timeline->count || timeline->pending_raw ||
        timeline->gpu_count == PG_TIMELINE_MAX_GPUS || !name)
        return PG_ERR_ARG;
    uint32_t n = timeline->gpu_count + 1;
    pg_timeline_gpu_t *gpu = realloc(timeline->gpu, (size_t)timeline->capacity * n * sizeof *gpu);
    char *copy = strdup(name);
    if (gpu)
        timeline->gpu = gpu;
    if (!gpu || !copy) {
        free(copy);
        return PG_ERR_NOMEM;
    }
    memset(timeline->gpu, 0, (size_t)timeline->capacity * n * sizeof *gpu);
    timeline->devices[timeline->gpu_count].name = copy;
    timeline->devices[timeline->gpu_count].memory_total = memory_total;
    timeline->gpu_count = n;
    return PG_OK;
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

void pg_timeline_merge(pg_timeline_sample_t *a, const pg_timeline_sample_t *b)
{
    /* b follows a, possibly after a gap: the merged interval spans both. */
    a->dt_ns = b->t_ns + b->dt_ns - a->t_ns;
    a->rss_bytes = max_u64(a->rss_bytes, b->rss_bytes);
    a->threads = max_u64(a->threads, b->threads);
    a->cpu_user_ns += b->cpu_user_ns;
    a->cpu_system_ns += b->cpu_system_ns;
    a->read_chars += b->read_chars;
    a->write_chars += b->write_chars;
    a->read_bytes += b->read_bytes;
    a->write_bytes += b->write_bytes;
}

void pg_timeline_merge_gpu(pg_timeline_gpu_t *a, const pg_timeline_gpu_t *b, uint32_t n)
{
    for (uint32_t d = 0; d < n; d++) {
        a[d].busy_ns += b[d].busy_ns;
        a[d].memory_bytes = max_u64(a[d].memory_bytes, b[d].memory_bytes);
        a[d].process_bytes = max_u64(a[d].process_bytes, b[d].process_bytes);
    }
}

/* Full: merge adjacent pairs, halving the count; later samples gather
 * twice as many raw samples each. */
static void compact(pg_timeline_t *timeline)
{
    uint32_t n = timeline->gpu_count;
    uint32_t half = timeline->count / 2;
    for (uint32_t i = 0; i < half; i++) {
        pg_timeline_sample_t merged = timeline->samples[2 * i];
        pg_timeline_merge(&merged, &timeline->samples[2 * i + 1]);
        timeline->samples[i] = merged;
        if (n) {
            pg_timeline_gpu_t gpu[PG_TIMELINE_MAX_GPUS];
            memcpy(gpu, &timeline->gpu[2 * i * n], n * sizeof *gpu);
            pg_timeline_merge_gpu(gpu, &timeline->gpu[(2 * i + 1) * n], n);
            memcpy(&timeline->gpu[i * n], gpu, n * sizeof *gpu);
        }
    }
    timeline->count = half;
    timeline->stride *= 2;
}

void pg_timeline_flush(pg_timeline_t *timeline)
{
    if (!timeline->pending_raw)
        return;
    uint32_t n = timeline->gpu_count;
    timeline->samples[timeline->count] = timeline->pending;
    if (n)
        memcpy(&timeline->gpu[timeline->count * n], timeline->pending_gpu,
               n * sizeof *timeline->gpu);
    timeline->count++;
    timeline->pending_raw = 0;
    /* Compact as soon as it is full, so the next stored sample already
     * gathers the doubled stride and lengths stay equal. */
    if (timeline->count == timeline->capacity)
        compact(timeline);
}

int pg_timeline_add(pg_timeline_t *timeline, const pg_timeline_sample_t *sample,
                    const pg_timeline_gpu_t *gpu)
{
    uint32_t n = timeline->gpu_count;
    if (!pg_timeline_present(timeline) || sample->dt_ns == 0 || (n && !gpu))
        return PG_ERR_ARG;
    const pg_timeline_sample_t *last =
        timeline->pending_raw ? &timeline->pending
                              : (timeline->count ? &timeline->samples[timeline->count - 1] : NULL);
    if (last && sample->t_ns < last->t_ns + last->dt_ns)
        return PG_ERR_ARG;
    if (timeline->pending_raw == 0) {
        timeline->pending = *sample;
        if (n)
            memcpy(timeline->pending_gpu, gpu, n * sizeof *gpu);
    } else {
        pg_timeline_merge(&timeline->pending, sample);
        if (n)
            pg_timeline_merge_gpu(timeline->pending_gpu, gpu, n);
    }
    if (++timeline->pending_raw >= timeline->stride)
        pg_timeline_flush(timeline);
    return PG_OK;
}

int pg_timeline_copy(pg_timeline_t *dst, const pg_timeline_t *src)
{
    memset(dst, 0, sizeof *dst);
    if (!pg_timeline_present(src))
        return PG_OK;
    int rc = pg_timeline_init(dst, src->capacity, src->interval_ns);
    for (uint32_t d = 0; rc == PG_OK && d < src->gpu_count; d++)
        rc = pg_timeline_add_device(dst, src->devices[d].name, src->devices[d].memory_total);
    if (rc < 0) {
        pg_timeline_release(dst);
        return rc;
    }
    uint32_t n = src->gpu_count;
    memcpy(dst->samples, src->samples, (size_t)src->count * sizeof *dst->samples);
    if (n)
        memcpy(dst->gpu, src->gpu, (size_t)src->count * n * sizeof *dst->gpu);
    dst->count = src->count;
    dst->stride = src->stride;
    dst->pending = src->pending;
    memcpy(dst->pending_gpu, src->pending_gpu, sizeof dst->pending_gpu);
    dst->pending_raw = src->pending_raw;
    pg_timeline_flush(dst);
    return PG_OK;
}

uint64_t pg_timeline_memory(const pg_timeline_t *timeline)
{
    uint64_t bytes = (uint64_t)timeline->capacity * sizeof *timeline->samples;
    bytes += (uint64_t)timeline->capacity * timeline->gpu_count * sizeof *timeline->gpu;
    for (uint32_t d = 0; d < timeline->gpu_count; d++)
        bytes += strlen(timeline->devices[d].name) + 1;
    return bytes;
}

void pg_node_charges_release(pg_node_charges_t *charges)
{
    free(charges->busy_ns);
    free(charges->max_bytes);
    memset(charges, 0, sizeof *charges);
}

static int charges_grow(pg_node_charges_t *charges, uint32_t node)
{
    uint64_t size = charges->size ? charges->size : 64;
    while (size <= node)
        size *= 2;
    if (size > UINT32_MAX)
        return PG_ERR_LIMIT;
    uint64_t *busy = realloc(charges->busy_ns, size * sizeof *busy);
    if (!busy)
        return PG_ERR_NOMEM;
    charges->busy_ns = busy;
    uint64_t *bytes = realloc(charges->max_bytes, size * sizeof *bytes);
    if (!bytes)
        return PG_ERR_NOMEM;
    charges->max_bytes = bytes;
    memset(busy + charges->size, 0, (size - charges->size) * sizeof *busy);
    memset(bytes + charges->size, 0, (size - charges->size) * sizeof *bytes);
    charges->size = (uint32_t)size;
    return PG_OK;
}

int pg_node_charges_add(pg_node_charges_t *charges, uint32_t node, uint64_t busy_ns,
                        uint64_t bytes)
{
    if (node >= charges->size) {
        int rc = charges_grow(charges, node);
        if (rc < 0)
            return rc;
    }
    charges->busy_ns[node] += busy_ns;
    charges->max_bytes[node] = max_u64(charges->max_bytes[node], bytes);
    return PG_OK;
}
