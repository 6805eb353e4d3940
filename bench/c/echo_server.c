/* The floor's server: an epoll echo of length-prefixed frames over a Unix socket.
 * usage: echo_server SOCKET_PATH
 * Each connection's bytes are read and written back as they come: a frame echo needs nothing more,
 * and this is the least work any server can do per frame. */
#include <fcntl.h>
#include <sys/epoll.h>

#include "common.h"

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: echo_server SOCKET_PATH\n");
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
                if (client < 0) continue;
                struct epoll_event added = {.events = EPOLLIN, .data.fd = client};
                epoll_ctl(epoll, EPOLL_CTL_ADD, client, &added);
                continue;
            }
            ssize_t got = read(fd, buffer, sizeof(buffer));
            if (got <= 0 || write_all(fd, buffer, (size_t)got) < 0) {
                epoll_ctl(epoll, EPOLL_CTL_DEL, fd, NULL);
                close(fd);
            }
        }
    }
}
