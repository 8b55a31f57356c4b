#include "pg_nvml.h"

#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The few nvml.h definitions used, restated so no NVIDIA header is needed.
 * Layouts are part of NVML's stable ABI. */
enum { NVML_SUCCESS = 0, NVML_ERROR_INSUFFICIENT_SIZE = 7 };

typedef struct nvml_utilisation {
    unsigned int gpu;    /* percent of time a kernel ran */
    unsigned int memory; /* percent of time memory was read or written */
} nvml_utilisation_t;

typedef struct nvml_memory {
    unsigned long long total, free, used; /* bytes */
} nvml_memory_t;

/* nvmlProcessInfo_v1_t: the unversioned nvmlDeviceGetComputeRunningProcesses. */
typedef struct nvml_process_v1 {
    unsigned int pid;
    unsigned long long used_memory;
} nvml_process_v1_t;

/* nvmlProcessInfo_t of the _v2 and _v3 entry points: two more fields. */
typedef struct nvml_process_v2 {
    unsigned int pid;
    unsigned long long used_memory;
    unsigned int gpu_instance;
    unsigned int compute_instance;
} nvml_process_v2_t;

#define NVML_VALUE_NOT_AVAILABLE (~0ull)
#define MAX_PROCESSES 256

static void say(char *why, size_t size, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(why, size, format, args);
    va_end(args);
}

static const char *result_text(const pg_nvml_t *nvml, int result, char *buffer, size_t size)
{
    const char *text = nvml->error_string ? nvml->error_string(result) : NULL;
    if (text)
        return text;
    snprintf(buffer, size, "NVML error %d", result);
    return buffer;
}

/* The newest process-list entry point the library has, and its entry size. */
static void resolve_processes(pg_nvml_t *nvml)
{
    static const char *names[] = {"nvmlDeviceGetComputeRunningProcesses_v3",
                                  "nvmlDeviceGetComputeRunningProcesses_v2",
                                  "nvmlDeviceGetComputeRunningProcesses"};
    for (int i = 0; i < 3; i++) {
        void *symbol = dlsym(nvml->library, names[i]);
        if (symbol) {
            *(void **)&nvml->get_processes = symbol;
            nvml->process_info_size = i < 2 ? sizeof(nvml_process_v2_t) : sizeof(nvml_process_v1_t);
            return;
        }
    }
}

/* Resolve the required entry points; the name of the first missing one. */
static const char *resolve(pg_nvml_t *nvml, int (**init)(void), int (**count)(unsigned *),
                           int (**handle)(unsigned, void **),
                           int (**name)(void *, char *, unsigned))
{
    struct {
        const char *name;
        void **slot;
    } table[] = {
        {"nvmlInit_v2", (void **)init},
        {"nvmlShutdown", (void **)&nvml->shutdown},
        {"nvmlDeviceGetCount_v2", (void **)count},
        {"nvmlDeviceGetHandleByIndex_v2", (void **)handle},
        {"nvmlDeviceGetName", (void **)name},
        {"nvmlDeviceGetUtilizationRates", (void **)&nvml->get_utilisation},
        {"nvmlDeviceGetMemoryInfo", (void **)&nvml->get_memory},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (!(*table[i].slot = dlsym(nvml->library, table[i].name)))
            return table[i].name;
    *(void **)&nvml->error_string = dlsym(nvml->library, "nvmlErrorString");
    resolve_processes(nvml);
    return NULL;
}

static int open_devices(pg_nvml_t *nvml, int (*count)(unsigned *),
                        int (*handle)(unsigned, void **), int (*name)(void *, char *, unsigned),
                        char *why, size_t why_size)
{
    char buffer[32];
    unsigned n = 0;
    int result = count(&n);
    if (result != NVML_SUCCESS) {
        say(why, why_size, "nvmlDeviceGetCount: %s", result_text(nvml, result, buffer, sizeof buffer));
        return -1;
    }
    if (n == 0) {
        say(why, why_size, "no NVIDIA device");
        return -1;
    }
    if (n > PG_NVML_MAX_DEVICES)
        n = PG_NVML_MAX_DEVICES;
    for (unsigned d = 0; d < n; d++) {
        nvml_memory_t memory;
        if ((result = handle(d, &nvml->devices[d])) != NVML_SUCCESS ||
            (result = name(nvml->devices[d], nvml->names[d], PG_NVML_NAME_SIZE)) != NVML_SUCCESS ||
            (result = nvml->get_memory(nvml->devices[d], &memory)) != NVML_SUCCESS) {
            say(why, why_size, "GPU %u: %s", d, result_text(nvml, result, buffer, sizeof buffer));
            return -1;
        }
        nvml->names[d][PG_NVML_NAME_SIZE - 1] = '\0';
        nvml->memory_total[d] = memory.total;
    }
    nvml->device_count = n;
    return (int)n;
}

int pg_nvml_open(pg_nvml_t *nvml, char *why, size_t why_size)
{
    memset(nvml, 0, sizeof *nvml);
    const char *path = getenv("PIPEGAUGE_NVML_LIBRARY");
    if (!path || !*path)
        path = "libnvidia-ml.so.1";
    nvml->library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!nvml->library) {
        say(why, why_size, "%s not found", path);
        return -1;
    }
    int (*init)(void), (*count)(unsigned *), (*handle)(unsigned, void **);
    int (*name)(void *, char *, unsigned);
    const char *missing = resolve(nvml, &init, &count, &handle, &name);
    if (missing) {
        say(why, why_size, "%s has no %s", path, missing);
        dlclose(nvml->library);
        memset(nvml, 0, sizeof *nvml);
        return -1;
    }
    char buffer[32];
    int result = init();
    if (result != NVML_SUCCESS) {
        say(why, why_size, "nvmlInit: %s", result_text(nvml, result, buffer, sizeof buffer));
        dlclose(nvml->library);
        memset(nvml, 0, sizeof *nvml);
        return -1;
    }
    int n = open_devices(nvml, count, handle, name, why, why_size);
    if (n < 0)
        pg_nvml_close(nvml);
    return n;
}

/* Bytes of GPU memory the process pid uses on device; 0 when unknown. */
static uint64_t process_memory(pg_nvml_t *nvml, void *device, pid_t pid)
{
    if (!nvml->get_processes)
        return 0;
    /* Large enough for the v2 layout; v1 entries are packed tighter. */
    nvml_process_v2_t infos[MAX_PROCESSES];
    unsigned count = MAX_PROCESSES;
    if (nvml->get_processes(device, &count, infos) != NVML_SUCCESS)
        return 0;
    uint64_t bytes = 0;
    const unsigned char *entry = (const unsigned char *)infos;
    for (unsigned i = 0; i < count && i < MAX_PROCESSES; i++, entry += nvml->process_info_size) {
        nvml_process_v1_t head; /* pid and memory lead both layouts */
        memcpy(&head, entry, sizeof head);
        if ((pid_t)head.pid == pid && head.used_memory != NVML_VALUE_NOT_AVAILABLE)
            bytes += head.used_memory;
    }
    return bytes;
}

int pg_nvml_read(pg_nvml_t *nvml, uint32_t d, pid_t pid, pg_nvml_reading_t *out)
{
    memset(out, 0, sizeof *out);
    if (d >= nvml->device_count)
        return -1;
    nvml_utilisation_t utilisation;
    nvml_memory_t memory;
    if (nvml->get_utilisation(nvml->devices[d], &utilisation) != NVML_SUCCESS ||
        nvml->get_memory(nvml->devices[d], &memory) != NVML_SUCCESS) {
        nvml->errors++;
        return -1;
    }
    out->utilisation = utilisation.gpu > 100 ? 100 : utilisation.gpu;
    out->memory_used = memory.used;
    out->process_memory = process_memory(nvml, nvml->devices[d], pid);
    return 0;
}

void pg_nvml_close(pg_nvml_t *nvml)
{
    if (nvml->library) {
        if (nvml->shutdown)
            nvml->shutdown();
        dlclose(nvml->library);
    }
    memset(nvml, 0, sizeof *nvml);
}
