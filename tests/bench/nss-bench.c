/* NSS lookup benchmark helper (driven by tests/bench/nss-bench.sh):
 *
 *   nss-bench gen N DIR       DIR/accounts.db with N accounts bu0..bu(N-1)
 *                             (uid 2000000+i, per-user groups), and
 *                             DIR/passwd, DIR/group: the host's files plus
 *                             the same accounts in passwd format
 *   nss-bench glibc N SECS    getpwnam_r through glibc (whatever
 *                             nsswitch.conf says) for random bu<i>: prints
 *                             "median_ns calls" over rounds of lookups
 *   nss-bench direct N SECS MODULE
 *                             the same through dlopen(MODULE) and
 *                             _nss_rstream_getpwnam_r directly (the
 *                             module's own cost, without glibc's dispatch)
 *   nss-bench statcost        one stat("/etc/nsswitch.conf"): glibc 2.33+
 *                             stats it on every getpwnam_r call to notice
 *                             changes, a floor no module can go below
 *
 * Every lookup's answer is checked (name and uid); a wrong or missing answer
 * exits 1, so a figure is never printed for lookups that did not happen. */
#include <dlfcn.h>
#include <errno.h>
#include <nss.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "accountsdb.h"

#define UID_BASE 2000000u

static double now(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static int copy_file(const char *from, FILE *to) {
        char buf[65536];
        size_t n;
        FILE *f = fopen(from, "re");

        if (!f)
                return -errno;
        while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
                if (fwrite(buf, 1, n, to) != n) {
                        fclose(f);
                        return -EIO;
                }
        fclose(f);
        return 0;
}

static int gen(size_t n, const char *dir) {
        accountsdb_set s = {};
        char path[4096], *err = NULL;
        void *data = NULL;
        size_t len;
        FILE *pw, *gr, *db;

        snprintf(path, sizeof(path), "%s/passwd", dir);
        pw = fopen(path, "we");
        snprintf(path, sizeof(path), "%s/group", dir);
        gr = fopen(path, "we");
        if (!pw || !gr || copy_file("/etc/passwd", pw) < 0 || copy_file("/etc/group", gr) < 0) {
                fprintf(stderr, "nss-bench: cannot write %s/passwd, group\n", dir);
                return 1;
        }
        for (size_t i = 0; i < n; i++) {
                char name[32], home[64];
                accountsdb_user u;

                snprintf(name, sizeof(name), "bu%zu", i);
                snprintf(home, sizeof(home), "/home/%s", name);
                u = (accountsdb_user){.name = name,
                                      .uid = UID_BASE + (uint32_t) i,
                                      .gid = UID_BASE + (uint32_t) i,
                                      .gecos = "bench",
                                      .home = home,
                                      .shell = "/bin/bash"};
                /* FORCE: no system NSS check for 100k names (the range is
                 * far above any real account); BULK: duplicates are left to
                 * accountsdb_serialize() (one pass instead of n^2). */
                if (accountsdb_set_add_user(&s, &u, true, ACCOUNTSDB_FORCE | ACCOUNTSDB_BULK, &err) < 0) {
                        fprintf(stderr, "nss-bench: %s\n", err);
                        return 1;
                }
                fprintf(pw, "%s:x:%u:%u:bench:%s:/bin/bash\n", name, u.uid, u.gid, home);
                fprintf(gr, "%s:x:%u:\n", name, u.gid);
        }
        if (fclose(pw) != 0 || fclose(gr) != 0)
                return 1;
        if (accountsdb_serialize(&s, &data, &len, &err) < 0) {
                fprintf(stderr, "nss-bench: %s\n", err);
                return 1;
        }
        snprintf(path, sizeof(path), "%s/accounts.db", dir);
        db = fopen(path, "we");
        if (!db || fwrite(data, 1, len, db) != len || fclose(db) != 0) {
                fprintf(stderr, "nss-bench: cannot write %s\n", path);
                return 1;
        }
        free(data);
        accountsdb_set_done(&s);
        return 0;
}

typedef enum nss_status (*getpwnam_fn)(const char *, struct passwd *, char *, size_t, int *);

static getpwnam_fn direct_fn;

static int lookup(bool direct, const char *name, struct passwd *pw, char *buf, size_t len) {
        struct passwd *res = NULL;
        int e = 0;

        if (direct)
                return direct_fn(name, pw, buf, len, &e) == NSS_STATUS_SUCCESS ? 0 : -1;
        return getpwnam_r(name, pw, buf, len, &res) == 0 && res ? 0 : -1;
}

/* Rounds of `batch` lookups of random accounts, each round's mean per
 * call; the median of the rounds. The names of a round are formatted before
 * its clock starts, fresh for every round (no artificially hot set). The
 * batch is sized from a first timing so that a round takes about 1 ms. */
#define MAX_BATCH 4096

static int measure(bool direct, size_t n, double secs) {
        static char names[MAX_BATCH][32];
        static size_t idx[MAX_BATCH];
        double *rounds, t0, end, one;
        size_t n_rounds = 0, cap = 100000, batch, calls = 0;
        unsigned seed = 12345;
        struct passwd pw;
        char buf[1024];

        for (size_t i = 0; i < 64; i++)
                snprintf(names[i], sizeof(names[i]), "bu%zu", (size_t) rand_r(&seed) % n);
        /* Warm up (opens the database, faults the pages in). */
        t0 = now();
        for (int i = 0; i < 64; i++)
                if (lookup(direct, names[i], &pw, buf, sizeof(buf)) < 0) {
                        fprintf(stderr, "nss-bench: %s not found\n", names[i]);
                        return 1;
                }
        one = (now() - t0) / 64;
        batch = one > 0 ? (size_t) (1e-3 / one) : MAX_BATCH;
        batch = batch < 1 ? 1 : batch > MAX_BATCH ? MAX_BATCH : batch;
        rounds = calloc(cap, sizeof(double));
        if (!rounds)
                return 1;
        end = now() + secs;
        while (now() < end && n_rounds < cap) {
                for (size_t k = 0; k < batch; k++) {
                        idx[k] = (size_t) rand_r(&seed) % n;
                        snprintf(names[k], sizeof(names[k]), "bu%zu", idx[k]);
                }
                t0 = now();
                for (size_t k = 0; k < batch; k++)
                        if (lookup(direct, names[k], &pw, buf, sizeof(buf)) < 0 ||
                            pw.pw_uid != UID_BASE + idx[k]) {
                                fprintf(stderr, "nss-bench: wrong answer for %s\n", names[k]);
                                return 1;
                        }
                rounds[n_rounds++] = (now() - t0) / (double) batch;
                calls += batch;
        }
        qsort(rounds, n_rounds, sizeof(double), cmp_double);
        printf("%.1f %zu\n", rounds[n_rounds / 2] * 1e9, calls);
        free(rounds);
        return 0;
}

static int statcost(void) {
        double r[101], t0;
        struct stat st;

        for (int k = 0; k < 101; k++) {
                t0 = now();
                for (int i = 0; i < 1000; i++)
                        (void) stat("/etc/nsswitch.conf", &st);
                r[k] = (now() - t0) / 1000;
        }
        qsort(r, 101, sizeof(double), cmp_double);
        printf("%.1f\n", r[50] * 1e9);
        return 0;
}

int main(int argc, char **argv) {
        if (argc == 2 && strcmp(argv[1], "statcost") == 0)
                return statcost();
        if (argc == 4 && strcmp(argv[1], "gen") == 0)
                return gen(strtoul(argv[2], NULL, 10), argv[3]);
        if (argc == 4 && strcmp(argv[1], "glibc") == 0)
                return measure(false, strtoul(argv[2], NULL, 10), strtod(argv[3], NULL));
        if (argc == 5 && strcmp(argv[1], "direct") == 0) {
                void *h = dlopen(argv[4], RTLD_NOW);

                if (!h || !(direct_fn = (getpwnam_fn) dlsym(h, "_nss_rstream_getpwnam_r"))) {
                        fprintf(stderr, "nss-bench: %s\n", dlerror());
                        return 1;
                }
                return measure(true, strtoul(argv[2], NULL, 10), strtod(argv[3], NULL));
        }
        fprintf(stderr, "usage: nss-bench gen N DIR | glibc N SECS | direct N SECS MODULE | statcost\n");
        return 2;
}
