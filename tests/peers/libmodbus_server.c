/* A libmodbus Modbus TCP server for Plantwatch's system tests and benches (an independent peer).
 *
 * Usage: libmodbus_server [START COUNT]
 *   Maps COUNT (default 1000) coils, discrete inputs, holding and input registers from address START
 *   (default 0); register N holds (N * 7) & 0xFFFF, input register N holds N ^ 0x5A5A, coil N is N % 3 == 0.
 *   Outside the mapping libmodbus answers exception 02; quantities outside 1-125 (2000 bits) get 03.
 * Binds 127.0.0.1 on a free port, prints "PORT <n>" on stdout, then serves any number of clients
 * (select loop) until killed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <modbus/modbus.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv) {
    int start = argc > 2 ? atoi(argv[1]) : 0;
    int count = argc > 2 ? atoi(argv[2]) : 1000;
    if (start < 0 || count < 1 || start + count > 65536) {
        fprintf(stderr, "usage: libmodbus_server [START COUNT] (within 0-65535)\n");
        return 2;
    }

    modbus_t *ctx = modbus_new_tcp("127.0.0.1", 0);
    modbus_mapping_t *map = modbus_mapping_new_start_address(start, count, start, count, start, count, start, count);
    if (ctx == NULL || map == NULL) {
        fprintf(stderr, "libmodbus_server: cannot allocate: %s\n", modbus_strerror(errno));
        return 1;
    }
    for (int i = 0; i < count; i++) {
        int address = start + i;
        map->tab_registers[i] = (uint16_t)((address * 7) & 0xFFFF);
        map->tab_input_registers[i] = (uint16_t)(address ^ 0x5A5A);
        map->tab_bits[i] = address % 3 == 0;
        map->tab_input_bits[i] = address % 2 == 0;
    }

    int listener = modbus_tcp_listen(ctx, 16);
    if (listener < 0) {
        fprintf(stderr, "libmodbus_server: cannot listen: %s\n", modbus_strerror(errno));
        return 1;
    }
    struct sockaddr_in bound;
    socklen_t bound_len = sizeof bound;
    if (getsockname(listener, (struct sockaddr *)&bound, &bound_len) != 0) {
        perror("libmodbus_server: getsockname");
        return 1;
    }
    printf("PORT %d\n", ntohs(bound.sin_port));
    fflush(stdout);

    fd_set clients;
    FD_ZERO(&clients);
    FD_SET(listener, &clients);
    int max_fd = listener;
    uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
    for (;;) {
        fd_set ready = clients;
        if (select(max_fd + 1, &ready, NULL, NULL, NULL) < 0) {
            if (errno == EINTR) continue;
            perror("libmodbus_server: select");
            return 1;
        }
        for (int fd = 0; fd <= max_fd; fd++) {
            if (!FD_ISSET(fd, &ready)) continue;
            if (fd == listener) {
                int client = accept(listener, NULL, NULL);
                if (client >= 0) {
                    FD_SET(client, &clients);
                    if (client > max_fd) max_fd = client;
                }
                continue;
            }
            modbus_set_socket(ctx, fd);
            int len = modbus_receive(ctx, query);
            if (len > 0) {
                modbus_reply(ctx, query, len, map);
            } else if (len < 0) {
                /* The client went away (or sent garbage): forget it. */
                close(fd);
                FD_CLR(fd, &clients);
            }
        }
    }
}
