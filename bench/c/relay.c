/* The floor's relay: what a broker costs at the least. Accepts clients on one Unix socket, opens
 * one upstream connection per client to another socket, and copies bytes both ways with epoll.
 * usage: relay LISTEN_PATH UPSTREAM_PATH */
#include <sys/epoll.h>

#include "common.h"

#define MAX_FDS 65536
static int peer_of[MAX_FDS];

#ifdef RELAY_BUSY_US
/* Only for bench/tools/placement_sweep.sh (make never defines it): RELAY_BUSY_US microseconds of
 * busy work per relayed read, to measure how sequential latency on this machine depends on the
 * CPU time a hop takes. */
static void busy(void) {
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    do clock_gettime(CLOCK_MONOTONIC, &now);
    while ((now.tv_sec - start.tv_sec) * 1000000L + (now.tv_nsec - start.tv_nsec) / 1000 < RELAY_BUSY_US);
}
#endif

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: relay LISTEN_PATH UPSTREAM_PATH\n");
        return 2;
    }
    int listener = unix_listen(argv[1]);
    int epoll = epoll_create1(0);
    struct epoll_event event = {.events = EPOLLIN, .data.fd = listener};
    epoll_ctl(epoll, EPOLL_CTL_ADD, listener, &event);
    static uint8_t buffer[1 << 16];
    struct epoll_event events[64];
    for (;;) {
        int ready = epoll_wait(epoll, events, 64, -1);
        for (int i = 0; i < ready; i++) {
            int fd = events[i].data.fd;
            if (fd == listener) {
                int client = accept(listener, NULL, NULL);
                if (client < 0 || client >= MAX_FDS) continue;
                int upstream = unix_connect(argv[2]);
                peer_of[client] = upstream;
                peer_of[upstream] = client;
                struct epoll_event a = {.events = EPOLLIN, .data.fd = client};
                struct epoll_event b = {.events = EPOLLIN, .data.fd = upstream};
                epoll_ctl(epoll, EPOLL_CTL_ADD, client, &a);
                epoll_ctl(epoll, EPOLL_CTL_ADD, upstream, &b);
                continue;
            }
            ssize_t got = read(fd, buffer, sizeof(buffer));
#ifdef RELAY_BUSY_US
            busy();
#endif
            if (got <= 0 || write_all(peer_of[fd], buffer, (size_t)got) < 0) {
                int other = peer_of[fd];
                epoll_ctl(epoll, EPOLL_CTL_DEL, fd, NULL);
                epoll_ctl(epoll, EPOLL_CTL_DEL, other, NULL);
                close(fd);
                close(other);
            }
        }
    }
}
