// MPI through dlopen, for Open MPI's ABI: MPI_Comm, MPI_Datatype and MPI_Op are pointers to
// exported objects (ompi_mpi_comm_world, ompi_mpi_float, ompi_mpi_op_sum, ...), MPI_IN_PLACE is
// (void *)1 and MPI_STATUS_IGNORE is NULL. The library is opened RTLD_GLOBAL because Open MPI's
// own plugins, which it opens in turn, resolve their symbols against it.
#include "CNablaMPI.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

typedef void *handle;
#define MPI_IN_PLACE ((void *)1)
#define MPI_THREAD_FUNNELED 1
#define MPI_MAX_ERROR_STRING 256

static int (*p_init_thread)(int *, char ***, int, int *);
static int (*p_comm_rank)(handle, int *);
static int (*p_comm_size)(handle, int *);
static int (*p_allreduce)(const void *, void *, int, handle, handle, handle);
static int (*p_iallreduce)(const void *, void *, int, handle, handle, handle, handle *);
static int (*p_wait)(handle *, void *);
static int (*p_bcast)(void *, int, handle, int, handle);
static int (*p_abort)(handle, int);
static int (*p_finalize)(void);
static int (*p_set_errhandler)(handle, handle);
static int (*p_error_string)(int, char *, int *);
static handle comm_world, type_float, type_double, op_sum, op_min, op_max, errors_return;
static char library_file[512];

static void *symbol(void *lib, const char *name, const char **missing) {
    void *p = dlsym(lib, name);
    if (!p && !*missing) *missing = name;
    return p;
}

int nbl_mpi_load(const char *libraries, char *error, size_t error_size) {
    if (p_init_thread) return 1;
    char list[1024];
    snprintf(list, sizeof list, "%s", libraries);
    snprintf(error, error_size, "none of %s could be opened", libraries);
    for (char *save = NULL, *name = strtok_r(list, ":", &save); name; name = strtok_r(NULL, ":", &save)) {
        void *lib = dlopen(name, RTLD_NOW | RTLD_GLOBAL);
        if (!lib) {
            snprintf(error, error_size, "%s", dlerror());
            continue;
        }
        const char *missing = NULL;
        // Open MPI's predefined handles: their presence is what says the library is Open MPI.
        comm_world = symbol(lib, "ompi_mpi_comm_world", &missing);
        type_float = symbol(lib, "ompi_mpi_float", &missing);
        type_double = symbol(lib, "ompi_mpi_double", &missing);
        op_sum = symbol(lib, "ompi_mpi_op_sum", &missing);
        op_min = symbol(lib, "ompi_mpi_op_min", &missing);
        op_max = symbol(lib, "ompi_mpi_op_max", &missing);
        errors_return = symbol(lib, "ompi_mpi_errors_return", &missing);
        *(void **)&p_comm_rank = symbol(lib, "MPI_Comm_rank", &missing);
        *(void **)&p_comm_size = symbol(lib, "MPI_Comm_size", &missing);
        *(void **)&p_allreduce = symbol(lib, "MPI_Allreduce", &missing);
        *(void **)&p_iallreduce = symbol(lib, "MPI_Iallreduce", &missing);
        *(void **)&p_wait = symbol(lib, "MPI_Wait", &missing);
        *(void **)&p_bcast = symbol(lib, "MPI_Bcast", &missing);
        *(void **)&p_abort = symbol(lib, "MPI_Abort", &missing);
        *(void **)&p_finalize = symbol(lib, "MPI_Finalize", &missing);
        *(void **)&p_set_errhandler = symbol(lib, "MPI_Comm_set_errhandler", &missing);
        *(void **)&p_error_string = symbol(lib, "MPI_Error_string", &missing);
        void *init = symbol(lib, "MPI_Init_thread", &missing);
        if (missing) {
            snprintf(error, error_size, "%s is not Open MPI (it lacks %s)", name, missing);
            dlclose(lib);
            continue;
        }
        snprintf(library_file, sizeof library_file, "%s", name);
        *(void **)&p_init_thread = init;
        return 1;
    }
    return 0;
}

int nbl_mpi_init(int *rank, int *size) {
    int provided = 0;
    int status = p_init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (status) return status;
    if ((status = p_set_errhandler(comm_world, errors_return))) return status;
    if ((status = p_comm_rank(comm_world, rank))) return status;
    return p_comm_size(comm_world, size);
}

static handle operation(int op) { return op == NBL_MPI_MIN ? op_min : op == NBL_MPI_MAX ? op_max : op_sum; }

int nbl_mpi_allreduce(void *buffer, long count, int double_precision, int op) {
    return p_allreduce(MPI_IN_PLACE, buffer, (int)count, double_precision ? type_double : type_float, operation(op),
                       comm_world);
}

int nbl_mpi_iallreduce_sum_f32(float *buffer, long count, void **request) {
    return p_iallreduce(MPI_IN_PLACE, buffer, (int)count, type_float, op_sum, comm_world, request);
}

int nbl_mpi_wait(void **request) { return p_wait(request, NULL); }

int nbl_mpi_bcast_f32(float *buffer, long count, int root) {
    return p_bcast(buffer, (int)count, type_float, root, comm_world);
}

void nbl_mpi_abort(int code) { p_abort(comm_world, code); }
int nbl_mpi_finalize(void) { return p_finalize(); }

void nbl_mpi_error_string(int code, char *text, size_t size) {
    char buffer[MPI_MAX_ERROR_STRING + 1] = {0};
    int length = 0;
    if (!p_error_string || p_error_string(code, buffer, &length)) snprintf(buffer, sizeof buffer, "MPI error %d", code);
    snprintf(text, size, "%s", buffer);
}

const char *nbl_mpi_library(void) { return library_file; }
