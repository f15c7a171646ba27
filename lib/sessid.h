/* Session ids (spec 4.11): 24 lowercase hex characters made of 4-byte
 * big-endian Unix seconds, 3 random bytes fixed per process, the low 16 bits
 * of the pid and a 24-bit counter that starts at a random value. */
#pragma once

#define SESSID_LEN 24

/* Writes the next id and a NUL into out. Not thread-safe (one loop). */
void sessid_next(char out[SESSID_LEN + 1]);
