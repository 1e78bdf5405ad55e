// Header-only: a software prefetch hint for hash-table probes (Swift has no prefetch builtin).
static inline void ts_prefetch(const void *p) { __builtin_prefetch(p, 1, 3); }
