/* Linux implementation of pg_procfs.h: parses proc(5) files with a fixed
 * stack buffer (they are small), no stdio, no allocation. */
#define _GNU_SOURCE
#include "pg_procfs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pg_error.h"

enum { PROCFS_BUFFER = 4096 };

pid_t pg_procfs_gettid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

/* Read the whole (small) file into buffer, NUL-terminated. Returns the
 * length or a negative pg_error_t. */
static int procfs_read(const char *path, char *buffer, size_t size)
{
    int fd;
    size_t used = 0;
    do
        fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return PG_ERR_IO;
    while (used + 1 < size) {
        ssize_t got = read(fd, buffer + used, size - 1 - used);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int saved = errno;
            close(fd);
            errno = saved;
            return PG_ERR_IO;
        }
        if (got == 0)
            break;
        used += (size_t)got;
    }
    close(fd);
    buffer[used] = '\0';
    return (int)used;
}

/* Parse an unsigned decimal at *cursor, skipping leading blanks; advances
 * *cursor past it. Returns 0, or PG_ERR_CORRUPT when no digit is there. */
static int procfs_number(const char **cursor, uint64_t *value)
{
    const char *p = *cursor;
    uint64_t result = 0;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p < '0' || *p > '9')
        return PG_ERR_CORRUPT;
    while (*p >= '0' && *p <= '9')
        result = result * 10 + (uint64_t)(*p++ - '0');
    *cursor = p;
    *value = result;
    return 0;
}

/* The value of "key: number" lines of an io file. */
static int procfs_io_field(const char *text, const char *key, uint64_t *value)
{
    size_t length = strlen(key);
    const char *line = text;
    while (line && *line) {
        if (strncmp(line, key, length) == 0 && line[length] == ':') {
            const char *cursor = line + length + 1;
            return procfs_number(&cursor, value);
        }
        line = strchr(line, '\n');
        if (line)
            line++;
    }
    return PG_ERR_CORRUPT;
}

static int procfs_io(const char *path, pg_proc_io_t *out)
{
    char buffer[PROCFS_BUFFER];
    int rc = procfs_read(path, buffer, sizeof buffer);
    memset(out, 0, sizeof *out);
    if (rc < 0)
        return rc;
    if (procfs_io_field(buffer, "rchar", &out->rchar) < 0 ||
        procfs_io_field(buffer, "wchar", &out->wchar) < 0 ||
        procfs_io_field(buffer, "syscr", &out->syscr) < 0 ||
        procfs_io_field(buffer, "syscw", &out->syscw) < 0 ||
        procfs_io_field(buffer, "read_bytes", &out->read_bytes) < 0 ||
        procfs_io_field(buffer, "write_bytes", &out->write_bytes) < 0) {
        memset(out, 0, sizeof *out);
        return PG_ERR_CORRUPT;
    }
    return 0;
}

int pg_procfs_thread_io(pid_t tid, pg_proc_io_t *out)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%ld/io",
             (long)(tid ? tid : pg_procfs_gettid()));
    return procfs_io(path, out);
}

int pg_procfs_process_io(pg_proc_io_t *out)
{
    return procfs_io("/proc/self/io", out);
}

/* Fields of /proc/self/stat after the command name, which is in
 * parentheses and may itself contain spaces and parentheses: parsing starts
 * after the LAST ')'. Field 3 (state) is the first one after it. */
static int procfs_stat_fields(const char *text, pg_proc_stat_t *out, uint64_t ticks_per_s)
{
    const char *cursor = strrchr(text, ')');
    uint64_t value;
    if (!cursor)
        return PG_ERR_CORRUPT;
    cursor++;
    while (*cursor == ' ')
        cursor++;
    if (!*cursor)
        return PG_ERR_CORRUPT;
    cursor++; /* field 3: the state letter */
    for (int field = 4; field <= 20; field++) {
        if (procfs_number(&cursor, &value) < 0) {
            /* fields 4-20 are numbers, some may be negative (priority, nice) */
            while (*cursor == ' ')
                cursor++;
            if (*cursor != '-')
                return PG_ERR_CORRUPT;
            cursor++;
            if (procfs_number(&cursor, &value) < 0)
                return PG_ERR_CORRUPT;
        }
        if (field == 14)
            out->utime_ns = value * (1000000000u / ticks_per_s);
        else if (field == 15)
            out->stime_ns = value * (1000000000u / ticks_per_s);
        else if (field == 20)
            out->threads = (uint32_t)value;
    }
    return 0;
}

int pg_procfs_process_stat(pg_proc_stat_t *out)
{
    char buffer[PROCFS_BUFFER];
    const char *cursor;
    uint64_t size_pages, resident_pages;
    long ticks = sysconf(_SC_CLK_TCK);
    long page = sysconf(_SC_PAGESIZE);
    int rc;
    memset(out, 0, sizeof *out);
    if (ticks <= 0 || page <= 0)
        return PG_ERR_IO;
    rc = procfs_read("/proc/self/stat", buffer, sizeof buffer);
    if (rc < 0)
        return rc;
    rc = procfs_stat_fields(buffer, out, (uint64_t)ticks);
    if (rc < 0)
        goto fail;
    rc = procfs_read("/proc/self/statm", buffer, sizeof buffer);
    if (rc < 0)
        goto fail;
    cursor = buffer;
    if (procfs_number(&cursor, &size_pages) < 0 || procfs_number(&cursor, &resident_pages) < 0) {
        rc = PG_ERR_CORRUPT;
        goto fail;
    }
    out->vm_bytes = size_pages * (uint64_t)page;
    out->rss_bytes = resident_pages * (uint64_t)page;
    return 0;
fail:
    memset(out, 0, sizeof *out);
    return rc;
}

int pg_procfs_thread_ids(pid_t *out, size_t capacity)
{
    DIR *directory = opendir("/proc/self/task");
    if (!directory)
        return PG_ERR_IO;
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir(directory)) != NULL) {
        char *end;
        long tid = strtol(entry->d_name, &end, 10);
        if (end == entry->d_name || *end || tid <= 0)
            continue; /* "." and ".." */
        if (count < capacity)
            out[count] = (pid_t)tid;
        count++;
    }
    closedir(directory);
    return count > (size_t)INT32_MAX ? PG_ERR_LIMIT : (int)count;
}

int pg_procfs_thread_name(pid_t tid, char *out, size_t size)
{
    char path[64], buffer[64];
    snprintf(path, sizeof path, "/proc/self/task/%ld/comm",
             (long)(tid ? tid : pg_procfs_gettid()));
    int rc = procfs_read(path, buffer, sizeof buffer);
    if (size)
        out[0] = '\0';
    if (rc < 0 || size == 0)
        return rc < 0 ? rc : PG_ERR_ARG;
    size_t length = strcspn(buffer, "\n");
    if (length >= size)
        length = size - 1;
    memcpy(out, buffer, length);
    out[length] = '\0';
    return 0;
}
