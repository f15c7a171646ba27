/* A standalone driver for the libFuzzer targets, so that every build (gcc,
 * no libFuzzer) replays the committed corpus as an ordinary test: calls
 * LLVMFuzzerTestOneInput() once for each file named on the command line or
 * found in a directory named there (not recursively). Without arguments it
 * replays FUZZ_CORPUS_DIR, the target's corpus in the source tree. */

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads a whole file; the buffer is exactly as long as the file, so ASan
 * sees any read past the input's end. */
static int read_file(const char *path, uint8_t **ret, size_t *ret_len) {
        _cleanup_free_ uint8_t *buf = NULL;
        size_t len = 0, cap = 0;
        FILE *f;

        f = fopen(path, "re");
        if (!f)
                return -errno;
        for (;;) {
                size_t n;

                if (len == cap) {
                        uint8_t *b;

                        cap = cap ? 2 * cap : 4096;
                        b = realloc(buf, cap);
                        if (!b) {
                                fclose(f);
                                return -ENOMEM;
                        }
                        buf = b;
                }
                n = fread(buf + len, 1, cap - len, f);
                len += n;
                if (n == 0)
                        break;
        }
        if (ferror(f)) {
                fclose(f);
                return -EIO;
        }
        fclose(f);

        /* Exact-size copy (at least one byte so malloc never returns NULL). */
        *ret = malloc(len ? len : 1);
        if (!*ret)
                return -ENOMEM;
        if (len)
                memcpy(*ret, buf, len);
        *ret_len = len;
        return 0;
}

static int run_one(const char *path) {
        _cleanup_free_ uint8_t *data = NULL;
        size_t len = 0;
        int r;

        r = read_file(path, &data, &len);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", path, strerror(-r));
                return r;
        }
        printf("%s (%zu bytes)\n", path, len);
        fflush(stdout);
        (void) LLVMFuzzerTestOneInput(data, len);
        return 0;
}

static int cmp_names(const void *a, const void *b) {
        return strcmp(*(char *const *) a, *(char *const *) b);
}

/* Runs every regular file in dir, in name order. Returns the count or <0. */
static int run_dir(const char *dir) {
        DIR *d = opendir(dir);
        char **names = NULL;
        size_t n = 0, cap = 0;
        struct dirent *de;
        int r = 0, count = 0;

        if (!d) {
                fprintf(stderr, "%s: %s\n", dir, strerror(errno));
                return -errno;
        }
        while ((de = readdir(d))) {
                if (de->d_name[0] == '.')
                        continue;
                if (n == cap) {
                        char **nn;

                        cap = cap ? 2 * cap : 64;
                        nn = realloc(names, cap * sizeof(*names));
                        if (!nn) {
                                r = -ENOMEM;
                                goto out;
                        }
                        names = nn;
                }
                if (asprintf(&names[n], "%s/%s", dir, de->d_name) < 0) {
                        r = -ENOMEM;
                        goto out;
                }
                n++;
        }
        qsort(names, n, sizeof(*names), cmp_names);
        for (size_t i = 0; i < n; i++) {
                struct stat st;

                if (stat(names[i], &st) < 0 || !S_ISREG(st.st_mode))
                        continue;
                r = run_one(names[i]);
                if (r < 0)
                        goto out;
                count++;
        }
        r = count;
out:
        for (size_t i = 0; i < n; i++)
                free(names[i]);
        free(names);
        closedir(d);
        return r;
}

int main(int argc, char *argv[]) {
        const char *default_args[] = {argv[0], FUZZ_CORPUS_DIR};
        int total = 0;

        if (argc < 2) {
                argc = 2;
                argv = (char **) default_args;
        }
        for (int i = 1; i < argc; i++) {
                struct stat st;
                int r;

                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                        return EXIT_FAILURE;
                }
                r = S_ISDIR(st.st_mode) ? run_dir(argv[i]) : run_one(argv[i]);
                if (r < 0)
                        return EXIT_FAILURE;
                total += S_ISDIR(st.st_mode) ? r : 1;
        }
        if (total == 0) {
                fprintf(stderr, "no inputs\n");
                return EXIT_FAILURE;
        }
        printf("%d inputs replayed\n", total);
        return EXIT_SUCCESS;
}
