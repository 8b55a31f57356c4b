/* pg_procfs: the counters move by what this test itself does. */
#define _GNU_SOURCE
#include "pg_procfs.h"
#include "pg_test.h"

#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

static void test_thread_io_counts_own_writes(void)
{
    static char block[1 << 16];
    pg_proc_io_t before, after, process;
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    PG_CHECK(fd >= 0);
    PG_CHECK_RC(pg_procfs_thread_io(0, &before), PG_OK);
    for (int i = 0; i < 16; i++)
        PG_CHECK(write(fd, block, sizeof block) == (ssize_t)sizeof block);
    close(fd);
    PG_CHECK_RC(pg_procfs_thread_io(pg_procfs_gettid(), &after), PG_OK);
    PG_CHECK_U64(after.wchar - before.wchar, 16u << 16);
    PG_CHECK_U64(after.syscw - before.syscw, 16);
    PG_CHECK_RC(pg_procfs_process_io(&process), PG_OK);
    PG_CHECK(process.wchar >= after.wchar);
}

static void *reader_thread(void *argument)
{
    char buffer[4096];
    pg_proc_io_t *out = argument;
    pg_proc_io_t before;
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    PG_CHECK_RC(pg_procfs_thread_io(0, &before), PG_OK);
    PG_CHECK(read(fd, buffer, sizeof buffer) > 0);
    close(fd);
    PG_CHECK_RC(pg_procfs_thread_io(0, out), PG_OK);
    out->rchar -= before.rchar;
    return NULL;
}

static void *named_thread(void *argument)
{
    pthread_setname_np(pthread_self(), "pg-io-test");
    *(pid_t *)argument = pg_procfs_gettid();
    char name[16];
    PG_CHECK_RC(pg_procfs_thread_name(0, name, sizeof name), PG_OK);
    PG_CHECK(strcmp(name, "pg-io-test") == 0);
    pid_t ids[64];
    int count = pg_procfs_thread_ids(ids, 64);
    PG_CHECK(count >= 2 && count <= 64);
    int found = 0;
    for (int i = 0; i < count; i++)
        found += ids[i] == pg_procfs_gettid() || ids[i] == getpid();
    PG_CHECK(found == 2); /* this thread and the main one */
    return NULL;
}

static void test_thread_ids_and_names(void)
{
    pthread_t thread;
    pid_t tid = 0;
    char name[4];
    PG_CHECK(pthread_create(&thread, NULL, named_thread, &tid) == 0);
    PG_CHECK(pthread_join(thread, NULL) == 0);
    PG_CHECK(tid > 0 && tid != getpid());
    PG_CHECK(pg_procfs_thread_ids(NULL, 0) >= 1);
    PG_CHECK_RC(pg_procfs_thread_name(0, name, sizeof name), PG_OK);
    PG_CHECK(strlen(name) <= 3); /* cut to the room given */
    PG_CHECK(pg_procfs_thread_name(tid, name, sizeof name) < 0); /* gone */
}

static void test_threads_counted_apart(void)
{
    pthread_t thread;
    pg_proc_io_t delta;
    PG_CHECK(pthread_create(&thread, NULL, reader_thread, &delta) == 0);
    PG_CHECK(pthread_join(thread, NULL) == 0);
    /* the reads of the io file itself count too: at least the stat read */
    PG_CHECK(delta.rchar > 0);
}

static void test_stat_cpu_and_memory(void)
{
    pg_proc_stat_t first, second;
    volatile uint64_t sink = 0;
    PG_CHECK_RC(pg_procfs_process_stat(&first), PG_OK);
    PG_CHECK(first.rss_bytes > 0 && first.vm_bytes >= first.rss_bytes);
    PG_CHECK(first.threads >= 1);
    /* ~50 ms of CPU: user time moves by at least one clock tick */
    for (;;) {
        for (uint64_t i = 0; i < 1000000; i++)
            sink += i;
        PG_CHECK_RC(pg_procfs_process_stat(&second), PG_OK);
        if (second.utime_ns + second.stime_ns >= first.utime_ns + first.stime_ns + 50000000u)
            break;
    }
    PG_CHECK(second.utime_ns > first.utime_ns);
}

static void test_missing_thread_is_io_error(void)
{
    pg_proc_io_t io;
    PG_CHECK_RC(pg_procfs_thread_io(0x7ffffff0, &io), PG_ERR_IO);
    PG_CHECK_U64(io.rchar, 0);
}

int main(void)
{
    test_thread_io_counts_own_writes();
    test_threads_counted_apart();
    test_thread_ids_and_names();
    test_stat_cpu_and_memory();
    test_missing_thread_is_io_error();
    return 0;
}
