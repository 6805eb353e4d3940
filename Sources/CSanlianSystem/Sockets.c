#define _GNU_SOURCE
#include "CSanlianSystem.h"

#ifdef __linux__
#include <pthread.h>
#include <sys/socket.h>

int CSanlianSystem_acceptNonBlocking(int descriptor) {
    return accept4(descriptor, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

void CSanlianSystem_nameThread(const char *name) {
    // The kernel keeps 15 bytes and a NUL; a longer name is refused, not cut.
    char shortened[16];
    size_t length = 0;
    while (length < sizeof shortened - 1 && name[length] != '\0') {
        shortened[length] = name[length];
        length++;
    }
    shortened[length] = '\0';
    pthread_setname_np(pthread_self(), shortened);
}
#endif
