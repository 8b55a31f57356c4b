/* pg_got: GOT slots of loaded objects are redirected and put back, objects
 * loaded later are covered through the dlopen hook, errno and results pass
 * through unchanged. argv[1] and argv[2] are the got_target library built
 * with lazy PLT slots and with a read-only GOT (-fno-plt, -z now). */
#define _GNU_SOURCE
#include "pg_got.h"
#include "pg_test.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

static ssize_t (*real_write)(int, const void *, size_t);
static uint64_t counted_calls, counted_bytes; /* atomic adds: threads too */

static ssize_t counting_write(int fd, const void *data, size_t size)
{
    ssize_t n = real_write(fd, data, size);
    int saved = errno;
    __atomic_add_fetch(&counted_calls, 1, __ATOMIC_RELAXED);
    if (n > 0)
        __atomic_add_fetch(&counted_bytes, (uint64_t)n, __ATOMIC_RELAXED);
    errno = saved;
    return n;
}

static pg_got_hook_t hooks[] = {{"write", (void *)counting_write, (void **)&real_write}};

static int null_fd;
static char block[1000];

static void reset(void)
{
    counted_calls = counted_bytes = 0;
}

static void test_own_calls_redirected_and_restored(void)
{
    reset();
    PG_CHECK(write(null_fd, block, sizeof block) == (ssize_t)sizeof block);
    PG_CHECK_U64(counted_calls, 0);
    PG_CHECK_RC(pg_got_install(hooks, 1, NULL), PG_OK);
    PG_CHECK(pg_got_installed());
    PG_CHECK_RC(pg_got_install(hooks, 1, NULL), PG_ERR_ARG); /* once only */
    pg_got_stats_t stats;
    pg_got_stats_get(&stats);
    PG_CHECK(stats.objects >= 1 && stats.slots >= 1);
    PG_CHECK(write(null_fd, block, sizeof block) == (ssize_t)sizeof block);
    PG_CHECK_U64(counted_calls, 1);
    PG_CHECK_U64(counted_bytes, sizeof block);
    /* failures pass through with their errno */
    errno = 0;
    PG_CHECK(write(-1, block, 1) == -1);
    PG_CHECK(errno == EBADF);
    PG_CHECK_U64(counted_calls, 2);
    pg_got_restore();
    PG_CHECK(!pg_got_installed());
    reset();
    PG_CHECK(write(null_fd, block, sizeof block) == (ssize_t)sizeof block);
    PG_CHECK_U64(counted_calls, 0);
}

static void *thread_writes(void *argument)
{
    (void)argument;
    for (int i = 0; i < 10; i++)
        PG_CHECK(write(null_fd, block, 100) == 100);
    return NULL;
}

static void test_other_threads_redirected(void)
{
    reset();
    PG_CHECK_RC(pg_got_install(hooks, 1, NULL), PG_OK);
    pthread_t thread;
    PG_CHECK(pthread_create(&thread, NULL, thread_writes, NULL) == 0);
    PG_CHECK(pthread_join(thread, NULL) == 0);
    pg_got_restore();
    PG_CHECK_U64(counted_calls, 10);
    PG_CHECK_U64(counted_bytes, 1000);
}

static void test_library_loaded_later(const char *path)
{
    reset();
    PG_CHECK_RC(pg_got_install(hooks, 1, NULL), PG_OK);
    void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    PG_CHECK(library != NULL);
    ssize_t (*target)(int, const void *, size_t) =
        (ssize_t(*)(int, const void *, size_t))dlsym(library, "got_target_write");
    PG_CHECK(target != NULL);
    pg_got_stats_t stats;
    pg_got_stats_get(&stats);
    PG_CHECK(stats.rescans >= 1);
    PG_CHECK(target(null_fd, block, 300) == 300);
    PG_CHECK_U64(counted_bytes, 300);
    pg_got_restore();
    reset();
    PG_CHECK(target(null_fd, block, 300) == 300);
    PG_CHECK_U64(counted_calls, 0);
    /* a second session finds the library already loaded */
    PG_CHECK_RC(pg_got_install(hooks, 1, NULL), PG_OK);
    PG_CHECK(target(null_fd, block, 7) == 7);
    PG_CHECK_U64(counted_bytes, 7);
    pg_got_restore();
    dlclose(library);
}

static void test_excluded_object_and_bad_symbol(void)
{
    reset();
    /* exclude this executable: its own calls stay direct */
    PG_CHECK_RC(pg_got_install(hooks, 1, (const void *)test_excluded_object_and_bad_symbol),
                PG_OK);
    PG_CHECK(write(null_fd, block, 10) == 10);
    PG_CHECK_U64(counted_calls, 0);
    pg_got_restore();
    static void *unused;
    pg_got_hook_t missing[] = {{"pg_no_such_libc_function", (void *)counting_write, &unused}};
    PG_CHECK_RC(pg_got_install(missing, 1, NULL), PG_ERR_ARG);
    PG_CHECK(!pg_got_installed());
    pg_got_restore(); /* not installed: no-op */
}

int main(int argc, char **argv)
{
    PG_CHECK(argc == 3);
    null_fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    PG_CHECK(null_fd >= 0);
    test_own_calls_redirected_and_restored();
    test_other_threads_redirected();
    test_library_loaded_later(argv[1]);
    test_library_loaded_later(argv[2]);
    test_excluded_object_and_bad_symbol();
    close(null_fd);
    puts("got: ok");
    return 0;
}
