// Optional system BLAS, loaded with dlopen at run time so that no BLAS is needed to build or run.
#include "CNablaKernels.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

// CBLAS enum values from the CBLAS reference header.
enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 };

typedef void (*cblas_sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float,
                               float *, int);
typedef void (*set_threads_fn)(int);

static cblas_sgemm_fn nbl_cblas_sgemm;
static set_threads_fn nbl_blas_threads;
static char nbl_blas_file[256];

int nbl_blas_load(const char *libraries) {
    if (nbl_cblas_sgemm) return 1;
    char list[1024];
    snprintf(list, sizeof list, "%s", libraries);
    for (char *save = NULL, *name = strtok_r(list, ":", &save); name; name = strtok_r(NULL, ":", &save)) {
        void *handle = dlopen(name, RTLD_NOW | RTLD_LOCAL);
        if (!handle) continue;
        cblas_sgemm_fn f = (cblas_sgemm_fn)dlsym(handle, "cblas_sgemm");
        if (!f) {
            dlclose(handle);
            continue;
        }
        nbl_blas_threads = (set_threads_fn)dlsym(handle, "openblas_set_num_threads");
        snprintf(nbl_blas_file, sizeof nbl_blas_file, "%s", name);
        nbl_cblas_sgemm = f;
        return 1;
    }
    return 0;
}

int nbl_blas_available(void) { return nbl_cblas_sgemm != NULL; }
const char *nbl_blas_name(void) { return nbl_blas_file; }

void nbl_blas_set_threads(int threads) {
    if (nbl_blas_threads) nbl_blas_threads(threads);
}

void nbl_blas_sgemm(int transA, int transB, long M, long N, long K, const float *A, long lda, const float *B,
                    long ldb, float *C, long ldc, int accumulate) {
    nbl_cblas_sgemm(CBLAS_ROW_MAJOR, transA ? CBLAS_TRANS : CBLAS_NO_TRANS, transB ? CBLAS_TRANS : CBLAS_NO_TRANS,
                    (int)M, (int)N, (int)K, 1.0f, A, (int)lda, B, (int)ldb, accumulate ? 1.0f : 0.0f, C, (int)ldc);
}
