/* I/O attribution (pg_io.h): the wrappers installed in the GOT slots, and
 * the per-thread kernel totals taken at start, at thread exit and at stop. */
#define _GNU_SOURCE
#include "pg_io.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "pg_error.h"
#include "pg_got.h"

/* What a call is: bit 0 = writes, bit 1 = a send/recv-family call (the
 * kernel's rchar/wchar count only the read/write family). */
enum { IO_READ = 0, IO_WRITE = 1, IO_RECV = 2, IO_SEND = 3 };

#define IO_SLOTS                                                                    \
    ((1u << PG_ACC_IO_READ_BYTES) | (1u << PG_ACC_IO_WRITE_BYTES) |                 \
     (1u << PG_ACC_IO_READ_OPS) | (1u << PG_ACC_IO_WRITE_OPS) | (1u << PG_ACC_IO_NS))

/* The functions the wrappers call: set by pg_got_install, never cleared (a
 * thread may still be inside a wrapper after unhook). */
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static ssize_t (*real_readv)(int, const struct iovec *, int);
static ssize_t (*real_writev)(int, const struct iovec *, int);
static ssize_t (*real_preadv)(int, const struct iovec *, int, off_t);
static ssize_t (*real_pwritev)(int, const struct iovec *, int, off_t);
static ssize_t (*real_preadv2)(int, const struct iovec *, int, off_t, int);
static ssize_t (*real_pwritev2)(int, const struct iovec *, int, off_t, int);
static ssize_t (*real_send)(int, const void *, size_t, int);
static ssize_t (*real_sendto)(int, const void *, size_t, int, const struct sockaddr *, socklen_t);
static ssize_t (*real_sendmsg)(int, const struct msghdr *, int);
static ssize_t (*real_recv)(int, void *, size_t, int);
static ssize_t (*real_recvfrom)(int, void *, size_t, int, struct sockaddr *, socklen_t *);
static ssize_t (*real_recvmsg)(int, struct msghdr *, int);

/* Nanoseconds per clock tick, fixed at begin (read by the wrappers). */
static double io_ns_per_tick = 1.0;

static inline void acc_put(uint64_t *acc, uint32_t *mask, unsigned slot, uint64_t value)
{
    uint32_t bit = 1u << slot;
    acc[slot] = (*mask & bit ? acc[slot] : 0) + value;
    *mask |= bit;
}

/* Charge one finished call to the calling thread's current frame. Touches
 * only this thread's own stack: no GIL, async-signal-safe. */
static inline void io_done(int kind, ssize_t result, uint64_t start)
{
    int direction = kind & 1;
    int family = (kind >> 1) * 4;
    uint64_t elapsed = pg_clock_ticks() - start;
    int saved = errno;
    pg_thread_t *thread = pg_thread_current;
    uint32_t *maskp;
    uint64_t *acc = pg_tracer_acc_target(thread, &maskp);
    if (acc) {
        uint32_t mask = *maskp;
        acc_put(acc, &mask, PG_ACC_IO_NS, (uint64_t)((double)elapsed * io_ns_per_tick));
        if (result >= 0) {
            acc_put(acc, &mask, direction ? PG_ACC_IO_WRITE_BYTES : PG_ACC_IO_READ_BYTES,
                    (uint64_t)result);
            acc_put(acc, &mask, direction ? PG_ACC_IO_WRITE_OPS : PG_ACC_IO_READ_OPS, 1);
            thread->io_hooked[family + direction] += (uint64_t)result;
            thread->io_hooked[family + 2 + direction]++;
        }
        *maskp = mask;
    }
    errno = saved;
}

static ssize_t io_read(int fd, void *buffer, size_t size)
{
    uint64_t start = pg_clock_ticks();
    ssize_t result = real_read(fd, buffer, size);
    io_done(IO_READ, result, start);
    return result;
}

static ssize_t io_write(int fd, const void *buffer, size_t size)
{
    uint64_t start = pg_clock_ticks();
    ssize_t result = real_write(fd, buffer, size);
    io_done(IO_WRITE, result, start);
    return result;
}

static ssize_t io_pread(int fd, void *buffer, size_t size, off_t offset)
{
    uint64_t start = pg_clock_ticks();
    ssize_t result = real_pread(fd, buffer, size, offset);
    io_done(IO_READ, result, start);
    return result;
}

static ssize_t io_pwrite(int fd, const void *buffer, size_t size, off_t offset)
{
    uint64_t start = pg_clock_ticks();
    ssize_t result = real_pwrite(fd, buffer, size, offset);
    io_done(IO_WRITE, result, start);
    return result;
}

static ssize_t io_readv(int fd, const struct iovec *iov, int count)
{
    uint64_t start = pg_clock_ticks();
    ssize_t result = real_readv(fd, iov, count);
    io_done(IO_READ, result, start);
    return result;
}

static ssize_t io_writev(int fd, const struct iovec *iov, int count)
{
    uint64_t start = pg_clock_ticks();
    ssize_t result = real_writev(fd, iov, count);
    io_done(IO_WRITE, result, start);
    return result;
}

static ssize_t io_preadv(int fd, const struct iovec *iov, int count, off_t offset)
{
    uint64_t start = pg_clock_ticks();
    ssize_t result = real_preadv(fd, iov, count, offset);
    io_done(IO_READ, result, start);
    return result;
}

static ssize_t io_pwritev(int fd, const struct iovec *iov, int count, off_t offset)
{
    uint64_t start = pg_clock_ticks();
    ssize_t result = real_pwritev(fd, iov, count, offset);
    io_done(IO_WRITE, result, start);
    return result;
}

static ssize_t io_preadv2(int fd, const struct iovec *iov, int count, off_t offset, int flags)
{
    uint64_t start = pg_clock_ticks();
    ssize_t result = real_preadv2(fd, iov, count, offset, flags);
    io_done(IO_READ, result, start);
    return result;
}

static ssize_t io_pwritev2(int fd, const struct iovec *iov, int count, off_t offset, int flags)
{
    uint64_t start = pg_clock_ticks();
    ssize_t result = real_pwritev2(fd, iov, count, offset, flags);
    io_done(IO_WRITE, result, start);
    return result;
}

static ssize_t io_send(int fd, const void *buffer, size_t size, int flags)
{
    uint64_t start = pg_clock_ticks();
    ssize_t result = real_send(fd, buffer, size, flags);
    io_done(IO_SEND, result, start);
    return result;
}

static ssize_t io_sendto(int fd, const void *buffer, size_t size, int flags,
                         const struct sockaddr *address, socklen_t length)
{
    uint64_t start = pg_clock_ticks();
    ssize_t result = real_sendto(fd, buffer, size, flags, address, length);
    io_done(IO_SEND, result, start);
    return result;
}

static ssize_t io_sendmsg(int fd, const struct msghdr *message, int flags)
{
    uint64_t start = pg_clock_ticks();
    ssize_t result = real_sendmsg(fd, message, flags);
    io_done(IO_SEND, result, start);
    return result;
}

static ssize_t io_recv(int fd, void *buffer, size_t size, int flags)
{
    uint64_t start = pg_clock_ticks();
    ssize_t result = real_recv(fd, buffer, size, flags);
    io_done(IO_RECV, result, start);
    return result;
}

static ssize_t io_recvfrom(int fd, void *buffer, size_t size, int flags,
                           struct sockaddr *address, socklen_t *length)
{
    uint64_t start = pg_clock_ticks();
    ssize_t result = real_recvfrom(fd, buffer, size, flags, address, length);
    io_done(IO_RECV, result, start);
    return result;
}

static ssize_t io_recvmsg(int fd, struct msghdr *message, int flags)
{
    uint64_t start = pg_clock_ticks();
    ssize_t result = real_recvmsg(fd, message, flags);
    io_done(IO_RECV, result, start);
    return result;
}

/* The C library names as the dynamic symbol tables spell them (glibc's
 * large-file variants are the ones 64-bit builds import). */
static const pg_got_hook_t io_hooks[] = {
    {"read", (void *)io_read, (void **)&real_read},
    {"write", (void *)io_write, (void **)&real_write},
    {"pread64", (void *)io_pread, (void **)&real_pread},
    {"pwrite64", (void *)io_pwrite, (void **)&real_pwrite},
    {"readv", (void *)io_readv, (void **)&real_readv},
    {"writev", (void *)io_writev, (void **)&real_writev},
    {"preadv64", (void *)io_preadv, (void **)&real_preadv},
    {"pwritev64", (void *)io_pwritev, (void **)&real_pwritev},
    {"preadv64v2", (void *)io_preadv2, (void **)&real_preadv2},
    {"pwritev64v2", (void *)io_pwritev2, (void **)&real_pwritev2},
    {"send", (void *)io_send, (void **)&real_send},
    {"sendto", (void *)io_sendto, (void **)&real_sendto},
    {"sendmsg", (void *)io_sendmsg, (void **)&real_sendmsg},
    {"recv", (void *)io_recv, (void **)&real_recv},
    {"recvfrom", (void *)io_recvfrom, (void **)&real_recvfrom},
    {"recvmsg", (void *)io_recvmsg, (void **)&real_recvmsg},
};

/* A thread's kernel counters at start. */
typedef struct io_start {
    pid_t tid;
    pg_proc_io_t io;
} io_start_t;

/* Session state. io_lock protects all of it: begin and end run with the
 * GIL, pg_io_thread_exit on exiting threads without it. */
static pthread_mutex_t io_lock = PTHREAD_MUTEX_INITIALIZER;
static int io_session;               /* between begin and end (read unlocked as a hint) */
static pg_proc_io_t io_process_start; /* /proc/self/io at begin */
static io_start_t *io_starts;        /* owned, io_start_count entries */
static size_t io_start_count;
static pg_thread_io_t *io_exited;    /* owned rows of threads that ended */
static size_t io_exited_count, io_exited_capacity;

int pg_io_active(void)
{
    return __atomic_load_n(&io_session, __ATOMIC_RELAXED);
}

int pg_io_thread_counters(pg_proc_io_t *out)
{
    return pg_procfs_thread_io(0, out);
}

/* io_lock held. */
static const pg_proc_io_t *start_of(pid_t tid)
{
    for (size_t i = 0; i < io_start_count; i++)
        if (io_starts[i].tid == tid)
            return &io_starts[i].io;
    return NULL;
}

/* now - start into row; AT_START when start applies (a reused tid whose
 * counters went down started after begin). */
static void row_fill(pg_thread_io_t *row, const pg_proc_io_t *now, const pg_proc_io_t *start)
{
    if (start && (now->rchar < start->rchar || now->wchar < start->wchar ||
                  now->syscr < start->syscr || now->syscw < start->syscw))
        start = NULL;
    pg_proc_io_t zero = {0};
    const pg_proc_io_t *base = start ? start : &zero;
    row->flags |= start ? PG_THREAD_IO_AT_START : 0;
    row->rchar = now->rchar - base->rchar;
    row->wchar = now->wchar - base->wchar;
    row->syscr = now->syscr - base->syscr;
    row->syscw = now->syscw - base->syscw;
    row->read_bytes = now->read_bytes >= base->read_bytes ? now->read_bytes - base->read_bytes : 0;
    row->write_bytes =
        now->write_bytes >= base->write_bytes ? now->write_bytes - base->write_bytes : 0;
}

static void row_hooked(pg_thread_io_t *row, const uint64_t hooked[8])
{
    row->hooked_read_bytes = hooked[0];
    row->hooked_write_bytes = hooked[1];
    row->hooked_read_ops = hooked[2];
    row->hooked_write_ops = hooked[3];
    row->hooked_recv_bytes = hooked[4];
    row->hooked_send_bytes = hooked[5];
    row->hooked_recv_ops = hooked[6];
    row->hooked_send_ops = hooked[7];
}

/* Kernel ids of the live threads: owned array, *count entries; NULL on
 * failure. */
static pid_t *thread_ids(size_t *count)
{
    for (size_t capacity = 64;; capacity *= 4) {
        pid_t *ids = malloc(capacity * sizeof *ids);
        if (!ids)
            return NULL;
        int n = pg_procfs_thread_ids(ids, capacity);
        if (n < 0) {
            free(ids);
            return NULL;
        }
        if ((size_t)n <= capacity) {
            *count = (size_t)n;
            return ids;
        }
        free(ids);
    }
}

static void session_free(void)
{
    free(io_starts);
    free(io_exited);
    io_starts = NULL;
    io_exited = NULL;
    io_start_count = io_exited_count = io_exited_capacity = 0;
}

/* io_lock held. Counters of the process and of every thread now. */
static int snapshot_start(void)
{
    size_t count = 0;
    pid_t *ids = thread_ids(&count);
    if (!ids)
        return PG_ERR_NOMEM;
    io_starts = calloc(count ? count : 1, sizeof *io_starts);
    if (!io_starts) {
        free(ids);
        return PG_ERR_NOMEM;
    }
    for (size_t i = 0; i < count; i++)
        if (pg_procfs_thread_io(ids[i], &io_starts[io_start_count].io) == 0)
            io_starts[io_start_count++].tid = ids[i];
    free(ids);
    if (pg_procfs_process_io(&io_process_start) < 0)
        memset(&io_process_start, 0, sizeof io_process_start);
    return PG_OK;
}

/* The hooks whose symbol this C library has (an older glibc lacks
 * preadv64v2, for one), installed everywhere but in our own module. */
static int install_hooks(void)
{
    static pg_got_hook_t present[sizeof io_hooks / sizeof io_hooks[0]];
    size_t count = 0;
    for (size_t i = 0; i < sizeof io_hooks / sizeof io_hooks[0]; i++)
        if (dlsym(RTLD_DEFAULT, io_hooks[i].symbol))
            present[count++] = io_hooks[i];
    return pg_got_install(present, count, (const void *)pg_io_begin);
}

int pg_io_begin(void)
{
    int rc = pg_tracer_acc_enable(IO_SLOTS);
    if (rc < 0)
        return rc;
    pg_clock_mark_t mark = pg_clock_mark();
    io_ns_per_tick = pg_clock_ns_per_tick(&mark);
    pthread_mutex_lock(&io_lock);
    session_free();
    rc = snapshot_start();
    if (rc == PG_OK)
        rc = install_hooks();
    if (rc == PG_OK)
        __atomic_store_n(&io_session, 1, __ATOMIC_RELAXED);
    else
        session_free();
    pthread_mutex_unlock(&io_lock);
    return rc;
}

void pg_io_unhook(void)
{
    pg_got_restore();
}

void pg_io_thread_exit(const pg_thread_t *thread)
{
    pg_thread_io_t row;
    pg_proc_io_t now;
    memset(&row, 0, sizeof row);
    if (pg_procfs_thread_io(0, &now) < 0)
        return;
    (void)pg_procfs_thread_name(0, row.name, sizeof row.name);
    row.tid = (uint64_t)thread->tid;
    row.flags = PG_THREAD_IO_EXITED;
    row_hooked(&row, thread->io_hooked);
    pthread_mutex_lock(&io_lock);
    if (io_session) {
        row_fill(&row, &now, start_of(thread->tid));
        if (io_exited_count == io_exited_capacity) {
            size_t capacity = io_exited_capacity ? io_exited_capacity * 2 : 16;
            pg_thread_io_t *grown = realloc(io_exited, capacity * sizeof *grown);
            if (grown) {
                io_exited = grown;
                io_exited_capacity = capacity;
            }
        }
        if (io_exited_count < io_exited_capacity)
            io_exited[io_exited_count++] = row;
    }
    pthread_mutex_unlock(&io_lock);
}

/* Hooked totals of the threads attached to the session, by tid. */
typedef struct io_hooked_row {
    pid_t tid;
    uint64_t hooked[8];
} io_hooked_row_t;

typedef struct io_hooked_list {
    io_hooked_row_t *rows; /* owned */
    size_t count, capacity;
    int failed;
} io_hooked_list_t;

/* Called under the tracer's thread_lock, with the GIL. */
static void collect_hooked(const pg_thread_t *thread, void *data)
{
    io_hooked_list_t *list = data;
    if (thread->generation != pg_tracer.generation)
        return;
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 16;
        io_hooked_row_t *grown = realloc(list->rows, capacity * sizeof *grown);
        if (!grown) {
            list->failed = 1;
            return;
        }
        list->rows = grown;
        list->capacity = capacity;
    }
    io_hooked_row_t *row = &list->rows[list->count++];
    row->tid = thread->tid;
    memcpy(row->hooked, thread->io_hooked, sizeof row->hooked);
}

static const uint64_t *hooked_of(const io_hooked_list_t *list, pid_t tid)
{
    for (size_t i = 0; i < list->count; i++)
        if (list->rows[i].tid == tid)
            return list->rows[i].hooked;
    return NULL;
}

static void process_add(pg_thread_io_t *process, const pg_thread_io_t *row)
{
    process->hooked_read_bytes += row->hooked_read_bytes;
    process->hooked_write_bytes += row->hooked_write_bytes;
    process->hooked_read_ops += row->hooked_read_ops;
    process->hooked_write_ops += row->hooked_write_ops;
    process->hooked_recv_bytes += row->hooked_recv_bytes;
    process->hooked_send_bytes += row->hooked_send_bytes;
    process->hooked_recv_ops += row->hooked_recv_ops;
    process->hooked_send_ops += row->hooked_send_ops;
}

/* io_lock held: rows for the live threads, then the exited ones; the
 * process row first, its hooked totals the sum of the threads'. */
static int collect_rows(pg_profile_t *profile, const io_hooked_list_t *hooked)
{
    static const uint64_t none[8];
    size_t count = 0;
    pid_t *ids = thread_ids(&count);
    pg_thread_io_t *rows = calloc(count + io_exited_count + 1, sizeof *rows);
    int rc = ids && rows ? PG_OK : PG_ERR_NOMEM;
    size_t used = 1;
    pg_proc_io_t now;
    for (size_t i = 0; rc == PG_OK && i < count; i++) {
        if (pg_procfs_thread_io(ids[i], &now) < 0)
            continue; /* ended meanwhile: its exit row has it */
        pg_thread_io_t *row = &rows[used++];
        row->tid = (uint64_t)ids[i];
        (void)pg_procfs_thread_name(ids[i], row->name, sizeof row->name);
        row_fill(row, &now, start_of(ids[i]));
        const uint64_t *counts = hooked_of(hooked, ids[i]);
        row_hooked(row, counts ? counts : none);
    }
    for (size_t i = 0; rc == PG_OK && i < io_exited_count; i++)
        rows[used++] = io_exited[i];
    if (rc == PG_OK) {
        rows[0].flags = PG_THREAD_IO_PROCESS;
        if (pg_procfs_process_io(&now) == 0)
            row_fill(&rows[0], &now, &io_process_start);
        rows[0].flags &= ~(uint32_t)PG_THREAD_IO_AT_START;
        for (size_t i = 1; i < used; i++)
            process_add(&rows[0], &rows[i]);
    }
    for (size_t i = 0; rc == PG_OK && i < used; i++)
        rc = pg_profile_thread_io_append(profile, &rows[i]);
    free(ids);
    free(rows);
    return rc;
}

/* The rows as of now into profile; ending the session when end is set. */
static int collect(pg_profile_t *profile, int end)
{
    io_hooked_list_t hooked = {0};
    pg_tracer_threads_visit(collect_hooked, &hooked);
    pthread_mutex_lock(&io_lock);
    int rc = PG_OK;
    if (io_session)
        rc = hooked.failed ? PG_ERR_NOMEM : collect_rows(profile, &hooked);
    if (end) {
        __atomic_store_n(&io_session, 0, __ATOMIC_RELAXED);
        session_free();
    }
    pthread_mutex_unlock(&io_lock);
    free(hooked.rows);
    return rc;
}

int pg_io_collect(pg_profile_t *profile)
{
    return collect(profile, 0);
}

int pg_io_end(pg_profile_t *profile)
{
    pg_io_unhook();
    return collect(profile, 1);
}
