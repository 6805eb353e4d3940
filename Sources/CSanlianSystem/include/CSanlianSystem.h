// C calls Swift's Glibc module does not expose (malloc.h is not part of it).
#ifndef SANLIAN_CSANLIANSYSTEM_H
#define SANLIAN_CSANLIANSYSTEM_H

#ifdef __linux__
#include <malloc.h>
#endif

/// Limits glibc's per-thread malloc arenas; returns 1 on success (mallopt's convention), 0 elsewhere.
static inline int CSanlianSystem_limitMallocArenas(int arenas) {
#ifdef __linux__
    return mallopt(M_ARENA_MAX, arenas);
#else
    (void)arenas;
    return 0;
#endif
}

#endif
