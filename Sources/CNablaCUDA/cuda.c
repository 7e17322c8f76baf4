// The driver API through dlopen. Symbols are resolved by their versioned names where the driver
// exports both (cuDeviceTotalMem_v2), as the CUDA headers would map them.
#include "CNablaCUDA.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static int (*p_init)(unsigned);
static int (*p_count)(int *);
static int (*p_version)(int *);
static int (*p_get)(int *, int);
static int (*p_name)(char *, int, int);
static int (*p_memory)(size_t *, int);

int nbl_cuda_probe(const char *libraries, char *error, size_t error_size) {
    if (p_init) return 0;
    char list[1024];
    snprintf(list, sizeof list, "%s", libraries);
    snprintf(error, error_size, "none of %s could be opened", libraries);
    for (char *save = NULL, *name = strtok_r(list, ":", &save); name; name = strtok_r(NULL, ":", &save)) {
        void *lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
        if (!lib) {
            snprintf(error, error_size, "%s", dlerror());
            continue;
        }
        *(void **)&p_init = dlsym(lib, "cuInit");
        *(void **)&p_count = dlsym(lib, "cuDeviceGetCount");
        *(void **)&p_version = dlsym(lib, "cuDriverGetVersion");
        *(void **)&p_get = dlsym(lib, "cuDeviceGet");
        *(void **)&p_name = dlsym(lib, "cuDeviceGetName");
        *(void **)&p_memory = dlsym(lib, "cuDeviceTotalMem_v2");
        if (!p_init || !p_count || !p_version || !p_get || !p_name || !p_memory) {
            snprintf(error, error_size, "%s lacks the CUDA driver API", name);
            p_init = NULL;
            dlclose(lib);
            continue;
        }
        int status = p_init(0);
        if (status) {
            snprintf(error, error_size, "cuInit failed with CUresult %d (driver installed, but no usable GPU?)", status);
            p_init = NULL;
            return status;
        }
        return 0;
    }
    return -1;
}

int nbl_cuda_device_count(int *count) { return p_count(count); }
int nbl_cuda_driver_version(int *version) { return p_version(version); }

int nbl_cuda_device_name(int device, char *name, size_t size) {
    int handle = 0, status = p_get(&handle, device);
    return status ? status : p_name(name, (int)size, handle);
}

int nbl_cuda_device_memory(int device, size_t *bytes) {
    int handle = 0, status = p_get(&handle, device);
    return status ? status : p_memory(bytes, handle);
}
