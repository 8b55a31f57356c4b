/* The profile file writer: encodes a profile as a format 1.x image
 * (docs/format.md) in memory, then replaces the target file atomically.
 *
 * The encoder first checks every rule the reader enforces and refuses
 * (PG_ERR_ARG) a profile that breaks one, so whatever is written can be read
 * back. Encoding then cannot fail except for memory.
 */
#include "pg_format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pg_error.h"

/* First bucket at or after from with a non-zero count, or PG_HIST_BUCKETS.
 * Absent rows are skipped whole: most of a histogram's 58 rows are, and a
 * profile can hold many thousands of histograms. */
static uint32_t next_bucket(const pg_hist_t *hist, uint32_t from)
{
    while (from < PG_HIST_BUCKETS) {
        const uint64_t *row = hist->rows[from >> PG_HIST_SUB_BITS];
        if (!row)
            from = (from | (PG_HIST_SUB - 1)) + 1;
        else if (row[from & (PG_HIST_SUB - 1)])
            return from;
        else
            from++;
    }
    return PG_HIST_BUCKETS;
}

static int check_hist(const pg_hist_t *hist)
{
    uint64_t min = hist->count ? hist->min : 0;
    if (!pg_format_hist_header_valid(hist->count, hist->sum, min, hist->max))
        return 0;
    uint64_t total = 0;
    for (uint32_t b = next_bucket(hist, 0); b < PG_HIST_BUCKETS; b = next_bucket(hist, b + 1)) {
        uint64_t n = pg_hist_bucket_count(hist, b);
        if (n > hist->count - total)
            return 0;
        total += n;
    }
    return 1;
}

/* Everything the reader will check, so a written file is always readable. */
static int check_profile(const pg_profile_t *profile)
{
    const pg_strtab_t *strings = &profile->strings;
    if (!pg_format_run_valid(&profile->run) || strings->count == 0 ||
        strings->lengths[0] != 0 || profile->node_count == 0)
        return PG_ERR_ARG;
    for (uint32_t i = 0; i < strings->count; i++)
        if (memchr(strings->strings[i], '\0', strings->lengths[i]))
            return PG_ERR_ARG;
    for (uint32_t i = 0; i < profile->func_count; i++) {
        const pg_func_t *f = &profile->funcs[i];
        if (f->name >= strings->count || f->file >= strings->count ||
            f->kind > PG_FUNC_BUILTIN || !check_hist(&f->hist))
            return PG_ERR_ARG;
    }
    const pg_node_t *root = &profile->nodes[0];
    if (root->parent != PG_NONE || root->func != PG_NONE)
        return PG_ERR_ARG;
    for (uint32_t i = 1; i < profile->node_count; i++) {
        const pg_node_t *node = &profile->nodes[i];
        if (node->parent >= i || node->func >= profile->func_count)
            return PG_ERR_ARG;
    }
    for (uint32_t i = 0; i < profile->process_count; i++)
        if (!profile->processes[i].role || profile->processes[i].state > PG_PROCESS_STATE_MAX)
            return PG_ERR_ARG;
    for (uint32_t i = 0; i < profile->meta_count; i++)
        if (!profile->meta[i].key || !profile->meta[i].value)
            return PG_ERR_ARG;
    if (!pg_format_stages_valid(&profile->stages))
        return PG_ERR_ARG;
    for (uint32_t i = 0; i < profile->stages.count; i++)
        if (!check_hist(&profile->stages.stages[i].latency))
            return PG_ERR_ARG;
    if (profile->metric_count > PG_METRIC_LIMIT)
        return PG_ERR_ARG;
    for (uint32_t i = 0; i < profile->metric_count; i++) {
        const pg_metric_t *m = &profile->metrics[i];
        if (m->name >= strings->count || m->unit >= strings->count || m->merge > PG_METRIC_MAX)
            return PG_ERR_ARG;
        for (uint32_t j = 0; j < i; j++)
            if (profile->metrics[j].name == m->name)
                return PG_ERR_ARG; /* strings are unique: same index, same name */
    }
    if (!pg_format_timeline_valid(&profile->timeline))
        return PG_ERR_ARG;
    for (uint32_t i = 0; i < profile->thread_io_count; i++)
        if (!pg_format_thread_io_valid(&profile->thread_io[i]))
            return PG_ERR_ARG;
    int lines_valid = pg_format_lines_valid(profile);
    if (lines_valid <= 0)
        return lines_valid < 0 ? lines_valid : PG_ERR_ARG;
    int duplicated = pg_format_node_pairs_duplicated(profile->nodes, profile->node_count);
    if (duplicated == 0)
        duplicated = pg_format_meta_keys_duplicated(profile);
    if (duplicated < 0)
        return duplicated;
    return duplicated ? PG_ERR_ARG : PG_OK;
}

/* Write a section header with placeholders; returns the payload offset. */
static size_t section_begin(pg_bytes_t *out, const char tag[4])
{
    pg_bytes_put(out, tag, 4);
    pg_bytes_put_u32le(out, 0); /* CRC, patched by section_end */
    pg_bytes_put_u64le(out, 0); /* length, patched by section_end */
    return out->size;
}

static void section_end(pg_bytes_t *out, size_t payload_at)
{
    if (out->failed)
        return;
    size_t length = out->size - payload_at;
    uint32_t crc = pg_crc32(0, out->data + payload_at, length);
    pg_bytes_patch_u32le(out, payload_at - 12, crc);
    pg_bytes_patch_u64le(out, payload_at - 8, length);
}

static void put_text(pg_bytes_t *out, const char *text, size_t length)
{
    pg_bytes_put_uv(out, length);
    pg_bytes_put(out, text, length);
}

static void encode_run(pg_bytes_t *out, const pg_run_stats_t *run)
{
    size_t at = section_begin(out, "RUN ");
    pg_bytes_put_f64(out, run->ns_per_unit);
    pg_bytes_put_f64(out, run->event_cost_ns);
    pg_bytes_put_uv(out, run->events);
    pg_bytes_put_uv(out, run->start_epoch_ns);
    pg_bytes_put_uv(out, run->duration_ns);
    pg_bytes_put_uv(out, run->profiler_memory);
    pg_bytes_put_uv(out, run->threads);
    pg_bytes_put_uv(out, run->lost_events);
    pg_bytes_put_uv(out, run->unmatched_events);
    section_end(out, at);
}

static void encode_meta(pg_bytes_t *out, const pg_profile_t *profile)
{
    if (profile->meta_count == 0)
        return; /* optional section */
    size_t at = section_begin(out, "META");
    pg_bytes_put_uv(out, profile->meta_count);
    for (uint32_t i = 0; i < profile->meta_count; i++) {
        const pg_meta_entry_t *entry = &profile->meta[i];
        put_text(out, entry->key, strlen(entry->key));
        put_text(out, entry->value, strlen(entry->value));
    }
    section_end(out, at);
}

/* PRCS: the processes of a multi-process run (optional). */
static void encode_processes(pg_bytes_t *out, const pg_profile_t *profile)
{
    if (profile->process_count == 0)
        return;
    size_t at = section_begin(out, "PRCS");
    pg_bytes_put_uv(out, profile->process_count);
    for (uint32_t i = 0; i < profile->process_count; i++) {
        const pg_process_t *process = &profile->processes[i];
        pg_bytes_put_uv(out, process->pid);
        pg_bytes_put_uv(out, process->parent_pid);
        put_text(out, process->role, strlen(process->role));
        pg_bytes_put_uv(out, process->state);
        pg_bytes_put_uv(out, process->start_epoch_ns);
        pg_bytes_put_uv(out, process->duration_ns);
        pg_bytes_put_uv(out, process->events);
        pg_bytes_put_uv(out, process->calls);
        pg_bytes_put_uv(out, process->busy_ns);
    }
    section_end(out, at);
}

/* Optional; the I/O totals per thread (docs/format.md, ITHR). */
static void encode_thread_io(pg_bytes_t *out, const pg_profile_t *profile)
{
    if (profile->thread_io_count == 0)
        return;
    size_t at = section_begin(out, "ITHR");
    pg_bytes_put_uv(out, profile->thread_io_count);
    for (uint32_t i = 0; i < profile->thread_io_count; i++) {
        const pg_thread_io_t *row = &profile->thread_io[i];
        pg_bytes_put_uv(out, row->tid);
        put_text(out, row->name, strlen(row->name));
        pg_bytes_put_uv(out, row->flags);
        const uint64_t counters[] = {row->rchar, row->wchar, row->syscr, row->syscw,
                                     row->read_bytes, row->write_bytes,
                                     row->hooked_read_bytes, row->hooked_write_bytes,
                                     row->hooked_read_ops, row->hooked_write_ops,
                                     row->hooked_recv_bytes, row->hooked_send_bytes,
                                     row->hooked_recv_ops, row->hooked_send_ops};
        for (size_t c = 0; c < sizeof counters / sizeof counters[0]; c++)
            pg_bytes_put_uv(out, counters[c]);
    }
    section_end(out, at);
}

static void encode_strings(pg_bytes_t *out, const pg_strtab_t *strings)
{
    size_t at = section_begin(out, "STRS");
    pg_bytes_put_uv(out, strings->count);
    for (uint32_t i = 0; i < strings->count; i++)
        put_text(out, strings->strings[i], strings->lengths[i]);
    section_end(out, at);
}

static void encode_funcs(pg_bytes_t *out, const pg_profile_t *profile)
{
    size_t at = section_begin(out, "FUNC");
    pg_bytes_put_uv(out, profile->func_count);
    for (uint32_t i = 0; i < profile->func_count; i++) {
        const pg_func_t *f = &profile->funcs[i];
        pg_bytes_put_uv(out, f->name);
        pg_bytes_put_uv(out, f->file);
        pg_bytes_put_uv(out, f->line);
        pg_bytes_put_uv(out, f->kind);
    }
    section_end(out, at);
}

/* Parent and function are stored plus one so that "none" is 0. */
static uint64_t index_plus_one(uint32_t index)
{
    return index == PG_NONE ? 0 : (uint64_t)index + 1;
}

static void encode_nodes(pg_bytes_t *out, const pg_profile_t *profile)
{
    size_t at = section_begin(out, "NODE");
    pg_bytes_put_uv(out, profile->node_count);
    for (uint32_t i = 0; i < profile->node_count; i++) {
        const pg_node_t *node = &profile->nodes[i];
        pg_bytes_put_uv(out, index_plus_one(node->parent));
        pg_bytes_put_uv(out, index_plus_one(node->func));
        pg_bytes_put_uv(out, node->calls);
        pg_bytes_put_uv(out, node->exc_exits);
        pg_bytes_put_uv(out, node->events);
        pg_bytes_put_uv(out, node->inclusive);
        pg_bytes_put_uv(out, node->exclusive);
    }
    section_end(out, at);
}

static void encode_hist(pg_bytes_t *out, const pg_hist_t *hist)
{
    uint32_t nonzero = 0;
    for (uint32_t b = next_bucket(hist, 0); b < PG_HIST_BUCKETS; b = next_bucket(hist, b + 1))
        nonzero++;
    pg_bytes_put_uv(out, hist->count);
    pg_bytes_put_uv(out, hist->sum);
    pg_bytes_put_uv(out, hist->count ? hist->min : 0);
    pg_bytes_put_uv(out, hist->max);
    pg_bytes_put_uv(out, nonzero);
    uint32_t previous = 0;
    for (uint32_t b = next_bucket(hist, 0); b < PG_HIST_BUCKETS; b = next_bucket(hist, b + 1)) {
        pg_bytes_put_uv(out, b - previous); /* the first one: absolute */
        pg_bytes_put_uv(out, pg_hist_bucket_count(hist, b));
        previous = b;
    }
}

static void encode_hists(pg_bytes_t *out, const pg_profile_t *profile)
{
    size_t at = section_begin(out, "HIST");
    pg_bytes_put_uv(out, profile->func_count);
    for (uint32_t i = 0; i < profile->func_count; i++)
        encode_hist(out, &profile->funcs[i].hist);
    section_end(out, at);
}

/* "STGS": the stage table, only when the run declared or derived stages. */
static void encode_stages(pg_bytes_t *out, const pg_stage_table_t *table)
{
    if (table->count == 0)
        return;
    size_t at = section_begin(out, "STGS");
    pg_bytes_put_uv(out, table->count);
    for (uint32_t i = 0; i < table->count; i++) {
        const pg_stage_t *s = &table->stages[i];
        put_text(out, s->name, s->name_length);
        const uint64_t fields[] = {
            s->flags,          s->invocations,    s->records_in,     s->records_out,
            s->bytes,          s->exceptions,     s->own,            s->upstream,
            s->nested,         s->suspended,      s->wall,           s->cpu_ns,
            s->cpu_invocations, s->io_read_bytes, s->io_write_bytes, s->io_invocations,
            s->mem_allocated,  s->mem_activations,
        };
        for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
            pg_bytes_put_uv(out, fields[f]);
        encode_hist(out, &s->latency);
    }
    pg_bytes_put_uv(out, table->coalesced);
    pg_bytes_put_uv(out, table->spans_dropped);
    pg_bytes_put_uv(out, table->lost);
    section_end(out, at);
}

/* "SSPN": the span log, only when it holds spans. */
static void encode_spans(pg_bytes_t *out, const pg_stage_table_t *table)
{
    if (table->count == 0 || table->span_count == 0)
        return;
    size_t at = section_begin(out, "SSPN");
    pg_bytes_put_uv(out, table->span_count);
    for (uint32_t i = 0; i < table->span_count; i++) {
        const pg_stage_span_t *span = &table->spans[i];
        pg_bytes_put_uv(out, span->stage);
        pg_bytes_put_uv(out, span->thread);
        pg_bytes_put_uv(out, span->start);
        pg_bytes_put_uv(out, span->end - span->start);
        pg_bytes_put_uv(out, span->busy);
        pg_bytes_put_uv(out, span->invocations);
    }
    section_end(out, at);
}

/* Optional: per-node metrics, each as a sparse list of non-zero values. */
static void encode_metrics(pg_bytes_t *out, const pg_profile_t *profile)
{
    if (profile->metric_count == 0)
        return;
    size_t at = section_begin(out, "RMET");
    pg_bytes_put_uv(out, profile->metric_count);
    for (uint32_t i = 0; i < profile->metric_count; i++) {
        const pg_metric_t *m = &profile->metrics[i];
        uint32_t nonzero = 0;
        for (uint32_t n = 0; n < profile->node_count; n++)
            nonzero += m->values[n] != 0;
        pg_bytes_put_uv(out, m->name);
        pg_bytes_put_uv(out, m->unit);
        pg_bytes_put_uv(out, m->merge);
        pg_bytes_put_uv(out, nonzero);
        uint32_t previous = 0;
        for (uint32_t n = 0; n < profile->node_count; n++) {
            if (!m->values[n])
                continue;
            pg_bytes_put_uv(out, n - previous); /* the first one: absolute */
            pg_bytes_put_uv(out, m->values[n]);
            previous = n;
        }
    }
    section_end(out, at);
}

/* TLIN: the resource timeline (docs/format.md). A partial pending sample
 * is not written: pg_timeline_flush it first. */
static void encode_timeline(pg_bytes_t *out, const pg_timeline_t *timeline)
{
    if (!pg_timeline_present(timeline))
        return;
    size_t at = section_begin(out, "TLIN");
    pg_bytes_put_uv(out, timeline->interval_ns);
    pg_bytes_put_uv(out, timeline->stride);
    pg_bytes_put_uv(out, timeline->count);
    uint64_t end = 0; /* where the previous sample ended */
    for (uint32_t i = 0; i < timeline->count; i++) {
        const pg_timeline_sample_t *s = &timeline->samples[i];
        pg_bytes_put_uv(out, s->t_ns - end);
        pg_bytes_put_uv(out, s->dt_ns);
        pg_bytes_put_uv(out, s->rss_bytes);
        pg_bytes_put_uv(out, s->threads);
        pg_bytes_put_uv(out, s->cpu_user_ns);
        pg_bytes_put_uv(out, s->cpu_system_ns);
        pg_bytes_put_uv(out, s->read_chars);
        pg_bytes_put_uv(out, s->write_chars);
        pg_bytes_put_uv(out, s->read_bytes);
        pg_bytes_put_uv(out, s->write_bytes);
        end = s->t_ns + s->dt_ns;
    }
    section_end(out, at);
    if (timeline->gpu_count == 0)
        return;
    at = section_begin(out, "TGPU");
    pg_bytes_put_uv(out, timeline->gpu_count);
    for (uint32_t d = 0; d < timeline->gpu_count; d++) {
        put_text(out, timeline->devices[d].name, strlen(timeline->devices[d].name));
        pg_bytes_put_uv(out, timeline->devices[d].memory_total);
    }
    for (uint32_t i = 0; i < timeline->count * timeline->gpu_count; i++) {
        pg_bytes_put_uv(out, timeline->gpu[i].busy_ns);
        pg_bytes_put_uv(out, timeline->gpu[i].memory_bytes);
        pg_bytes_put_uv(out, timeline->gpu[i].process_bytes);
    }
    section_end(out, at);
}

int pg_profile_encode(const pg_profile_t *profile, pg_bytes_t *out)
{
    int rc = check_profile(profile);
    if (rc < 0)
        return rc;
    pg_bytes_put(out, PG_FORMAT_MAGIC, PG_FORMAT_MAGIC_SIZE);
    pg_bytes_put_u16le(out, PG_FORMAT_MAJOR);
    pg_bytes_put_u16le(out, PG_FORMAT_MINOR);
    pg_bytes_put_u32le(out, 0); /* flags */
    encode_run(out, &profile->run);
    encode_meta(out, profile);
    encode_strings(out, &profile->strings);
    encode_funcs(out, profile);
    encode_nodes(out, profile);
    encode_hists(out, profile);
    encode_processes(out, profile);
    encode_stages(out, &profile->stages);
    encode_spans(out, &profile->stages);
    encode_metrics(out, profile);
    encode_timeline(out, &profile->timeline);
    encode_thread_io(out, profile);
    pg_format_encode_lines(out, profile, section_begin, section_end);
    section_end(out, section_begin(out, PG_FORMAT_END_TAG));
    return out->failed ? PG_ERR_NOMEM : PG_OK;
}

static int write_all(int fd, const uint8_t *data, size_t size)
{
    while (size > 0) {
        ssize_t n = write(fd, data, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return PG_ERR_IO;
        }
        data += n;
        size -= (size_t)n;
    }
    return PG_OK;
}

/* Make the rename durable. Best effort: the file itself is already synced,
 * and some file systems refuse fsync on directories. */
static void sync_parent_directory(const char *path)
{
    int saved = errno;
    const char *slash = strrchr(path, '/');
    char *directory = slash ? strndup(path, (size_t)(slash - path) + 1) : strdup(".");
    if (directory) {
        int fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            (void)fsync(fd);
            close(fd);
        }
        free(directory);
    }
    errno = saved;
}

/* Write data to "<path>.tmp-<pid>", fsync, rename over path. On failure the
 * temporary file is removed (only when this call created it) and errno is
 * what the failing call set. */
static int write_atomically(const char *path, const uint8_t *data, size_t size)
{
    size_t room = strlen(path) + 32;
    char *temp = malloc(room);
    if (!temp)
        return PG_ERR_NOMEM;
    snprintf(temp, room, "%s.tmp-%ld", path, (long)getpid());
    /* O_NOFOLLOW: never write through a symlink planted at the temp name. */
    int fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0666);
    if (fd < 0) {
        int saved = errno;
        free(temp);
        errno = saved;
        return PG_ERR_IO;
    }
    int ok = write_all(fd, data, size) == PG_OK && fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = 0;
        saved = errno;
    }
    if (ok && rename(temp, path) != 0) {
        ok = 0;
        saved = errno;
    }
    if (ok)
        sync_parent_directory(path);
    else
        unlink(temp);
    free(temp);
    errno = saved;
    return ok ? PG_OK : PG_ERR_IO;
}

int pg_profile_write(const pg_profile_t *profile, const char *path)
{
    if (!profile || !path || !*path)
        return PG_ERR_ARG;
    pg_bytes_t image;
    pg_bytes_init(&image);
    int rc = pg_profile_encode(profile, &image);
    if (rc == PG_OK)
        rc = write_atomically(path, image.data, image.size);
    int saved = errno;
    pg_bytes_release(&image);
    errno = saved;
    return rc;
}

