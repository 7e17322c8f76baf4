// Heap statistics for benchmarks: bytes the C heap has handed out and not yet taken back.
#include "CNablaKernels.h"

#if defined(__GLIBC__)
#include <malloc.h>
long nbl_heap_bytes_in_use(void) { return (long)mallinfo2().uordblks; }
#else
long nbl_heap_bytes_in_use(void) { return -1; }
#endif
