/* A stand-in for libnvidia-ml.so.1 with scripted readings, so the GPU path
 * of the resource sampler is tested on machines without a GPU.
 *
 * Environment:
 *   FAKE_NVML_STATE  file read at every reading: "UTIL MEMORY_USED PROCESS_BYTES"
 *                    (percent, bytes, bytes); absent or unreadable = all 0
 *   FAKE_NVML_DEVICES  number of devices (default 1)
 *   FAKE_NVML_FAIL   "init": nvmlInit_v2 fails; "count": the device count
 *                    fails; "read": every utilisation reading fails
 *
 * Only the entry points pipegauge resolves exist. The process list is the
 * versioned _v3 symbol with the 24-byte entries of current drivers, or,
 * compiled with -DFAKE_NVML_V1, only the plain symbol with the 16-byte
 * entries of old drivers, so both layouts are read correctly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FAKE_ERROR 999

typedef struct {
    unsigned int gpu, memory;
} utilization_t;

typedef struct {
    unsigned long long total, free, used;
} memory_t;

#ifdef FAKE_NVML_V1
typedef struct {
    unsigned int pid;
    unsigned long long used;
} process_t;
#define PROCESSES_SYMBOL nvmlDeviceGetComputeRunningProcesses
#else
typedef struct {
    unsigned int pid;
    unsigned long long used;
    unsigned int gpu_instance, compute_instance;
} process_t;
#define PROCESSES_SYMBOL nvmlDeviceGetComputeRunningProcesses_v3
#endif

static int devices[16];
static int initialised;

static int failing(const char *what)
{
    const char *fail = getenv("FAKE_NVML_FAIL");
    return fail && strcmp(fail, what) == 0;
}

static void state(unsigned long long out[3])
{
    out[0] = out[1] = out[2] = 0;
    const char *path = getenv("FAKE_NVML_STATE");
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f)
        return;
    if (fscanf(f, "%llu %llu %llu", &out[0], &out[1], &out[2]) != 3)
        out[0] = out[1] = out[2] = 0;
    fclose(f);
}

static unsigned device_count(void)
{
    const char *text = getenv("FAKE_NVML_DEVICES");
    int n = text ? atoi(text) : 1;
    return n < 0 ? 0 : n > 16 ? 16 : (unsigned)n;
}

int nvmlInit_v2(void)
{
    if (failing("init"))
        return FAKE_ERROR;
    initialised = 1;
    return 0;
}

int nvmlShutdown(void)
{
    initialised = 0;
    return 0;
}

const char *nvmlErrorString(int result)
{
    return result == FAKE_ERROR ? "fake failure" : "unknown";
}

int nvmlDeviceGetCount_v2(unsigned int *count)
{
    if (!initialised || failing("count"))
        return FAKE_ERROR;
    *count = device_count();
    return 0;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned int index, void **device)
{
    if (index >= device_count())
        return 2; /* NVML_ERROR_INVALID_ARGUMENT */
    *device = &devices[index];
    return 0;
}

int nvmlDeviceGetName(void *device, char *name, unsigned int length)
{
    snprintf(name, length, "Fake GPU %d", (int)((int *)device - devices));
    return 0;
}

int nvmlDeviceGetUtilizationRates(void *device, utilization_t *out)
{
    (void)device;
    if (failing("read"))
        return FAKE_ERROR;
    unsigned long long s[3];
    state(s);
    out->gpu = (unsigned)s[0];
    out->memory = 0;
    return 0;
}

int nvmlDeviceGetMemoryInfo(void *device, memory_t *out)
{
    (void)device;
    unsigned long long s[3];
    state(s);
    out->total = 16ull << 30;
    out->used = s[1];
    out->free = out->total - out->used;
    return 0;
}

/* Another process, this one (with the scripted bytes), another again:
 * a reader using the wrong entry size misses this process's bytes. */
int PROCESSES_SYMBOL(void *device, unsigned int *count, process_t *infos)
{
    (void)device;
    if (*count < 3) {
        *count = 3;
        return 7; /* NVML_ERROR_INSUFFICIENT_SIZE */
    }
    unsigned long long s[3];
    state(s);
    infos[0] = (process_t){.pid = 1, .used = 123456789};
    infos[1] = (process_t){.pid = (unsigned)getpid(), .used = s[2]};
    infos[2] = (process_t){.pid = 2, .used = 987654321};
    *count = 3;
    return 0;
}
