/*
 * A libmodbus TCP server for the engine's benchmarks: many clients at once (poll(), not one
 * connection at a time), every unit id answered from one mapping of holding and input registers.
 *
 * Usage: engine_bench_server REGISTERS FRACTION_PER_SECOND COUNTER
 *   REGISTERS            holding/input registers 0..REGISTERS-1
 *   FRACTION_PER_SECOND  share of the registers given a new random value each second (0.1 = 10%),
 *                        spread over ten steps a second
 *   COUNTER              1: holding and input register 0 go up by one on every request (every poll
 *                        sees a change, so the poller decodes every block it reads)
 * Binds 127.0.0.1 on a free port and prints `PORT <n>`; serves until killed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <modbus/modbus.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CLIENTS 4096

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s REGISTERS FRACTION_PER_SECOND COUNTER\n", argv[0]);
        return 2;
    }
    int registers = atoi(argv[1]);
    double fraction = atof(argv[2]);
    int counter = atoi(argv[3]);

    int listener = socket(AF_INET, SOCK_STREAM, 0);
    int yes = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 || listen(listener, 1024) != 0) {
        perror("bind/listen");
        return 1;
    }
    socklen_t len = sizeof addr;
    getsockname(listener, (struct sockaddr *)&addr, &len);
    printf("PORT %d\n", ntohs(addr.sin_port));
    fflush(stdout);

    modbus_t *ctx = modbus_new_tcp("127.0.0.1", 0);
    modbus_mapping_t *map = modbus_mapping_new(0, 0, registers, registers);
    if (ctx == NULL || map == NULL) {
        fprintf(stderr, "libmodbus: %s\n", modbus_strerror(errno));
        return 1;
    }
    for (int i = 0; i < registers; i++) {
        map->tab_registers[i] = (uint16_t)i;
        map->tab_input_registers[i] = (uint16_t)(i ^ 0x5A5A);
    }

    static struct pollfd fds[MAX_CLIENTS + 1];
    int nfds = 1;
    fds[0].fd = listener;
    fds[0].events = POLLIN;
    uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
    double next_change = now_seconds() + 0.1;
    int per_step = (int)(registers * fraction / 10.0);
    unsigned seed = 12345;

    for (;;) {
        int ready = poll(fds, nfds, 20);
        double t = now_seconds();
        if (t >= next_change) {
            /* Ten steps a second, each changing a tenth of the per-second share. */
            for (int k = 0; k < per_step; k++) {
                int at = rand_r(&seed) % registers;
                map->tab_registers[at] = (uint16_t)rand_r(&seed);
                map->tab_input_registers[at] = (uint16_t)rand_r(&seed);
            }
            next_change += 0.1;
            if (next_change < t) next_change = t + 0.1;
        }
        if (ready <= 0) continue;
        if (fds[0].revents & POLLIN) {
            int client = accept(listener, NULL, NULL);
            if (client >= 0) {
                if (nfds <= MAX_CLIENTS) {
                    fds[nfds].fd = client;
                    fds[nfds].events = POLLIN;
                    fds[nfds].revents = 0;
                    nfds++;
                } else {
                    close(client);
                }
            }
        }
        for (int i = 1; i < nfds; i++) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            modbus_set_socket(ctx, fds[i].fd);
            int rc = modbus_receive(ctx, query);
            if (rc > 0) {
                if (counter) {
                    map->tab_registers[0]++;
                    map->tab_input_registers[0]++;
                }
                modbus_reply(ctx, query, rc, map);
            } else if (rc == -1) {
                /* The client left: drop it (swap in the last one). */
                close(fds[i].fd);
                fds[i] = fds[nfds - 1];
                nfds--;
                i--;
            }
        }
    }
}
