/* NVIDIA GPUs through NVML, loaded at run time with dlopen: no build or
 * Python dependency, and a machine without the driver simply has no GPU.
 *
 * Only the functions called here are resolved. The library is
 * libnvidia-ml.so.1, or the file named by the environment variable
 * PIPEGAUGE_NVML_LIBRARY (tests load a fake one).
 *
 * Threading: one pg_nvml_t belongs to one thread (the timeline sampler);
 * nothing here touches Python.
 */
#ifndef PG_NVML_H
#define PG_NVML_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define PG_NVML_MAX_DEVICES 16
#define PG_NVML_NAME_SIZE 96

typedef struct pg_nvml_reading {
    uint32_t utilisation;    /* percent of the last sample period busy, 0-100 */
    uint64_t memory_used;    /* bytes, all processes */
    uint64_t process_memory; /* bytes used by the given pid; 0 when unknown */
} pg_nvml_reading_t;

typedef struct pg_nvml {
    void *library;                         /* dlopen handle, owned */
    uint32_t device_count;                 /* devices opened */
    void *devices[PG_NVML_MAX_DEVICES];    /* nvmlDevice_t handles */
    char names[PG_NVML_MAX_DEVICES][PG_NVML_NAME_SIZE];
    uint64_t memory_total[PG_NVML_MAX_DEVICES];
    /* Resolved entry points (nvml.h signatures, opaque types as void *). */
    int (*shutdown)(void);
    int (*get_utilisation)(void *device, void *utilisation);
    int (*get_memory)(void *device, void *memory);
    int (*get_processes)(void *device, unsigned *count, void *infos);
    size_t process_info_size; /* bytes per entry of the resolved version */
    const char *(*error_string)(int result); /* optional */
    uint64_t errors;          /* readings that failed after opening */
} pg_nvml_t;

/* Load the library, initialise NVML and open every device. Returns the
 * number of devices (>= 1), or -1 with why (NUL-terminated, e.g.
 * "libnvidia-ml.so.1 not found") filled, leaving nothing open. */
int pg_nvml_open(pg_nvml_t *nvml, char *why, size_t why_size);
/* Read device d now. 0, or -1 when NVML reports an error (counted). */
int pg_nvml_read(pg_nvml_t *nvml, uint32_t d, pid_t pid, pg_nvml_reading_t *out);
/* Shut NVML down and unload it. */
void pg_nvml_close(pg_nvml_t *nvml);

#endif
