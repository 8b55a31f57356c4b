/* A shared library loaded by test_got after pg_got_install: its write()
 * goes through its own GOT, which only a rescan can patch. */
#include <unistd.h>

ssize_t got_target_write(int fd, const void *data, size_t size);

ssize_t got_target_write(int fd, const void *data, size_t size)
{
    return write(fd, data, size);
}
