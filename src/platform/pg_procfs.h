/* Process and thread resource counters read from the operating system.
 *
 * The only OS-specific code of the project: one implementation per platform
 * folder (src/platform/linux/). No Python, no heap allocation, no locks, so
 * any thread may call these, with or without the GIL. They use open/read/close
 * and are therefore NOT async-signal-safe: never call them from a signal
 * handler.
 *
 * Every function returns 0 or a negative pg_error_t: PG_ERR_IO (errno set)
 * when the file cannot be read, PG_ERR_CORRUPT when its text cannot be parsed.
 * On error *out is zeroed.
 */
#ifndef PG_PROCFS_H
#define PG_PROCFS_H

#include <stdint.h>
#include <sys/types.h>

/* I/O counters of /proc/<...>/io (proc(5)). rchar/wchar count bytes passed
 * to read/write-like system calls (pipes, sockets and page cache included);
 * read_bytes/write_bytes count bytes fetched from or sent to storage. */
typedef struct pg_proc_io {
    uint64_t rchar;       /* bytes read by read-like syscalls */
    uint64_t wchar;       /* bytes written by write-like syscalls */
    uint64_t syscr;       /* read-like syscalls */
    uint64_t syscw;       /* write-like syscalls */
    uint64_t read_bytes;  /* bytes read from storage */
    uint64_t write_bytes; /* bytes written to storage */
} pg_proc_io_t;

/* Process-wide CPU and memory figures (/proc/self/stat and statm). */
typedef struct pg_proc_stat {
    uint64_t utime_ns;  /* user CPU time, all threads, live and exited */
    uint64_t stime_ns;  /* system CPU time, likewise */
    uint64_t rss_bytes; /* resident set size now */
    uint64_t vm_bytes;  /* virtual memory size now */
    uint32_t threads;   /* threads in the process now */
} pg_proc_stat_t;

/* Counters of one thread of this process (/proc/self/task/<tid>/io);
 * tid 0 means the calling thread. */
int pg_procfs_thread_io(pid_t tid, pg_proc_io_t *out);
/* Counters of the whole process (/proc/self/io): live and exited threads. */
int pg_procfs_process_io(pg_proc_io_t *out);
int pg_procfs_process_stat(pg_proc_stat_t *out);
/* The kernel ids of this process's threads now (/proc/self/task): up to
 * capacity of them into out; returns how many threads there are (more than
 * capacity when out was too small) or a negative pg_error_t. Uses
 * opendir/readdir: allocates, so not for allocator hooks either. */
int pg_procfs_thread_ids(pid_t *out, size_t capacity);
/* The OS name of a thread (/proc/self/task/<tid>/comm, 0 = calling
 * thread), at most size - 1 bytes, NUL-terminated, no newline. */
int pg_procfs_thread_name(pid_t tid, char *out, size_t size);
/* The calling thread's kernel thread id. */
pid_t pg_procfs_gettid(void);

#endif
