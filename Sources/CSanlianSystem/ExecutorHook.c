#include "CSanlianSystem.h"

#include <stdatomic.h>
#include <stddef.h>

// The runtime's declaration (swift/Runtime/Concurrency.h, stable since Swift 5.5):
//   SWIFT_CC(swift) void (*swift_task_enqueueGlobal_hook)(Job *job,
//       SWIFT_CC(swift) void (*original)(Job *job));
typedef __attribute__((swiftcall)) void (*OriginalEnqueue)(void *job);
typedef __attribute__((swiftcall)) void (*EnqueueHook)(void *job, OriginalEnqueue original);
extern EnqueueHook swift_task_enqueueGlobal_hook;

static _Atomic(CSanlianSystem_JobEnqueue) installedEnqueue = NULL;

__attribute__((swiftcall)) static void enqueueThroughHook(void *job, OriginalEnqueue original) {
    (void)original;
    atomic_load_explicit(&installedEnqueue, memory_order_relaxed)(job);
}

int CSanlianSystem_installGlobalEnqueueHook(CSanlianSystem_JobEnqueue enqueue) {
    CSanlianSystem_JobEnqueue expected = NULL;
    if (swift_task_enqueueGlobal_hook != NULL) return 0;
    if (!atomic_compare_exchange_strong(&installedEnqueue, &expected, enqueue)) return 0;
    swift_task_enqueueGlobal_hook = enqueueThroughHook;
    return 1;
}
