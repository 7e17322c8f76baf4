// The NVIDIA driver API, loaded at run time with dlopen: nothing CUDA is needed to build, and a
// machine without a GPU never loads it.
#pragma once
#include <stddef.h>

/// Opens libcuda.so.1 (or the colon-separated `libraries`) and calls cuInit. Returns 0 on
/// success; otherwise a message in `error`.
int nbl_cuda_probe(const char *libraries, char *error, size_t error_size);

/// The number of devices, the driver's CUDA version (e.g. 12040), and one device's name and
/// memory; each returns a CUresult (0: success).
int nbl_cuda_device_count(int *count);
int nbl_cuda_driver_version(int *version);
int nbl_cuda_device_name(int device, char *name, size_t size);
int nbl_cuda_device_memory(int device, size_t *bytes);
