#include <cblas.h>
#include <f77blas.h>
