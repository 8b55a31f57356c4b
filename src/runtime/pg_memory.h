/* Memory attribution: wrappers around CPython's three allocator domains
 * (and NumPy's data-memory handler) that charge bytes to the calling
 * thread's current frame through the frame accumulators (pg_tracer.h):
 * mem.alloc_bytes, mem.alloc_count, mem.freed_bytes and mem.peak_bytes.
 *
 * The wrappers only wrap: every request goes to the allocator that was
 * installed before (tracemalloc's, another tool's or CPython's own).
 * Block sizes for frees come from a pointer -> size table filled while
 * profiling (pg_memory.c explains its bounds); frees of blocks it does not
 * know (allocated before start) are passed on and not counted.
 *
 * Threading: start/stop and the NumPy hook run with the GIL. The MEM and
 * OBJ wrappers run with the GIL; the RAW and NumPy wrappers may run without
 * it and touch only the calling thread's own frames and a locked table.
 */
#ifndef PG_MEMORY_H
#define PG_MEMORY_H

#include "pg_compat.h"

#include <stdint.h>

/* Wrap the allocators for this session and record the mem.* metrics.
 * Call after the tracer started (GIL). 0 or a negative pg_error_t. */
int pg_memory_start(void);
/* Stop attributing; restore the previous allocators when ours are still
 * the installed ones (otherwise ours stay, passing everything through). */
void pg_memory_stop(void);
/* Wrap NumPy's default data-memory handler, found through numpy's C-API
 * capsule (api: the table of the capsule _ARRAY_API). 1 when wrapped (now
 * or before), 0 when this numpy has no handler API. GIL. */
int pg_memory_hook_numpy(void **api);
/* Heap bytes the calling thread allocated while profiled, so far (for
 * stage boundaries: differences between two calls). Any thread. */
uint64_t pg_memory_thread_allocated(void);
/* 1 while a session attributes memory (pg_memory_start to _stop). */
int pg_memory_counting(void);
/* Blocks not recorded because the size table was full (this session). */
uint64_t pg_memory_untracked(void);
/* Heap bytes held by the size tables. */
uint64_t pg_memory_overhead(void);

#endif
