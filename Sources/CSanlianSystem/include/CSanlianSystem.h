// C calls Swift's Glibc module does not expose (malloc.h, sys/epoll.h, sys/eventfd.h and sys/timerfd.h are
// not part of it), and
// the Swift concurrency runtime's global-executor hook.
#ifndef SANLIAN_CSANLIANSYSTEM_H
#define SANLIAN_CSANLIANSYSTEM_H

#ifdef __linux__
#include <malloc.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
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

/// Where the Swift concurrency runtime hands every job meant for its global executor: `job` is
/// the runtime's job pointer (an `UnownedJob`).
typedef void (*CSanlianSystem_JobEnqueue)(void *job);

/// Routes every job for Swift's global executor to `enqueue` by setting the runtime's
/// `swift_task_enqueueGlobal_hook`. Linked directly rather than looked up with dlsym, so it also
/// works when the Swift runtime is linked statically (its symbols are then not exported).
/// Returns 1 when installed, 0 when a hook was already set (nothing is changed then).
int CSanlianSystem_installGlobalEnqueueHook(CSanlianSystem_JobEnqueue enqueue);

/// Drops the read-only pages of the program and of the shared libraries it loaded (their code
/// and constants: the PT_LOAD segments without write permission) from the process's page tables
/// with `MADV_DONTNEED`. They are file-backed and never modified, so whatever runs next maps its
/// pages again from the page cache; what only start-up ran stops counting as the process's
/// memory. Writable segments (RELRO included) are left alone. Returns the bytes of address space
/// released, or minus the errno when madvise refused.
long CSanlianSystem_releaseReadOnlyImagePages(void);

/// accept4 with SOCK_NONBLOCK and SOCK_CLOEXEC (a GNU extension Swift's Glibc module hides).
int CSanlianSystem_acceptNonBlocking(int descriptor);

/// Names the calling thread, for ps and debuggers (at most 15 bytes are kept).
void CSanlianSystem_nameThread(const char *name);

#endif
