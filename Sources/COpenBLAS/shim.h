#include <cblas.h>
#include <f77blas.h>

// Exported by OpenBLAS (pthreads build) but not declared in its headers: stops the library's
// worker threads; the next call that wants several threads starts them again.
int blas_thread_shutdown_(void);
