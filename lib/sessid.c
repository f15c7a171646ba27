/* Session id generator (see sessid.h). */
#include "sessid.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

static bool seeded;
static pid_t seeded_pid;
static uint8_t process_random[3];
static uint32_t counter;

void sessid_next(char out[SESSID_LEN + 1]) {
        uint8_t id[12];
        uint32_t now = (uint32_t) time(NULL);
        pid_t pid = getpid();

        /* Re-seed in a forked child so two processes never share a sequence. */
        if (!seeded || seeded_pid != pid) {
                randombytes_buf(process_random, sizeof(process_random));
                counter = randombytes_uniform(1u << 24);
                seeded = true;
                seeded_pid = pid;
        }
        counter = (counter + 1) & 0xffffff;
        id[0] = (uint8_t) (now >> 24);
        id[1] = (uint8_t) (now >> 16);
        id[2] = (uint8_t) (now >> 8);
        id[3] = (uint8_t) now;
        id[4] = process_random[0];
        id[5] = process_random[1];
        id[6] = process_random[2];
        id[7] = (uint8_t) ((unsigned) pid >> 8);
        id[8] = (uint8_t) pid;
        id[9] = (uint8_t) (counter >> 16);
        id[10] = (uint8_t) (counter >> 8);
        id[11] = (uint8_t) counter;
        for (size_t i = 0; i < sizeof(id); i++)
                snprintf(out + 2 * i, 3, "%02x", id[i]);
}
