/* The reference client for the read benchmark: libmodbus reading holding registers sequentially.
 *
 * Usage: libmodbus_client_bench PORT [READS] [COUNT]
 *   Connects to 127.0.0.1:PORT and makes READS (default 20000) sequential reads of COUNT (default 125)
 *   holding registers from address 0, then prints one line:
 *   "reads <n> seconds <s> reads_per_second <r>".
 */
#include <errno.h>
#include <modbus/modbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: libmodbus_client_bench PORT [READS] [COUNT]\n");
        return 2;
    }
    int port = atoi(argv[1]);
    long reads = argc > 2 ? atol(argv[2]) : 20000;
    int count = argc > 3 ? atoi(argv[3]) : 125;
    if (count < 1 || count > 125 || reads < 1) {
        fprintf(stderr, "libmodbus_client_bench: READS >= 1, COUNT in 1-125\n");
        return 2;
    }
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", port);
    if (ctx == NULL || modbus_connect(ctx) != 0) {
        fprintf(stderr, "libmodbus_client_bench: cannot connect: %s\n", modbus_strerror(errno));
        return 1;
    }
    uint16_t regs[125];
    struct timespec begin, end;
    clock_gettime(CLOCK_MONOTONIC, &begin);
    for (long i = 0; i < reads; i++) {
        if (modbus_read_registers(ctx, 0, count, regs) != count) {
            fprintf(stderr, "libmodbus_client_bench: read %ld failed: %s\n", i, modbus_strerror(errno));
            return 1;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &end);
    double seconds = (double)(end.tv_sec - begin.tv_sec) + (double)(end.tv_nsec - begin.tv_nsec) / 1e9;
    printf("reads %ld seconds %.6f reads_per_second %.1f\n", reads, seconds, (double)reads / seconds);
    modbus_close(ctx);
    modbus_free(ctx);
    return 0;
}
