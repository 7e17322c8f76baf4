// MPI for data-parallel training, loaded at run time with dlopen: nothing MPI is needed to build,
// and a binary that never runs under mpirun never loads it. The handles (communicator, datatypes,
// operations) are those of Open MPI's ABI, where each is the address of an exported object.
#pragma once
#include <stddef.h>

/// Loads the first library of the colon-separated list that is Open MPI and resolves every call
/// used. Returns 1 on success; 0 with a message in `error` otherwise.
int nbl_mpi_load(const char *libraries, char *error, size_t error_size);

/// MPI_Init_thread (funneled: only the thread that initialised calls MPI) on MPI_COMM_WORLD, with
/// errors returned instead of aborting. Returns an MPI error code (0: success).
int nbl_mpi_init(int *rank, int *size);

enum { NBL_MPI_SUM = 0, NBL_MPI_MIN = 1, NBL_MPI_MAX = 2 };

/// In-place all-reduce of `count` floats (`double_precision` 0) or doubles (1).
int nbl_mpi_allreduce(void *buffer, long count, int double_precision, int op);

/// Starts an in-place sum all-reduce of `count` floats; `nbl_mpi_wait` finishes it.
int nbl_mpi_iallreduce_sum_f32(float *buffer, long count, void **request);
int nbl_mpi_wait(void **request);

/// Broadcasts `count` floats from `root` to every rank.
int nbl_mpi_bcast_f32(float *buffer, long count, int root);

/// Stops every rank of the job with `code`.
void nbl_mpi_abort(int code);
int nbl_mpi_finalize(void);

/// The library's text for an error code.
void nbl_mpi_error_string(int code, char *text, size_t size);
/// The file the library was loaded from.
const char *nbl_mpi_library(void);
