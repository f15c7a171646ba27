/* webttyd: serves WebTTY sessions (see man/webttyd.8). */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include <openssl/crypto.h>
#include <sodium.h>
#include <systemd/sd-daemon.h>

#include "options.h"
#include "listen.h"
#include "log.h"
#include "macro.h"
#include "server.h"

extern char **environ;

static int parse_urls(const webttyd_config *cfg, bool have_inherited, wt_url **ret, size_t *ret_n) {
        static char *const defaults[] = {(char *) WEBTTYD_DEFAULT_LISTEN, NULL};
        char *const *list = cfg->listen ? cfg->listen : (have_inherited ? NULL : defaults);
        wt_url *urls = NULL;
        size_t n = 0;

        for (size_t i = 0; list && list[i]; i++) {
                _cleanup_free_ char *err = NULL;
                wt_url *nu = realloc(urls, (n + 1) * sizeof(*urls));
                if (!nu)
                        goto oom;
                urls = nu;
                if (wt_url_parse(list[i], cfg->bare_kind, &urls[n], &err) < 0) {
                        fprintf(stderr, "webttyd: --listen: %s\n", err ? err : "invalid address");
                        goto fail;
                }
                n++;
        }
        *ret = urls;
        *ret_n = n;
        return 0;
oom:
        fprintf(stderr, "webttyd: out of memory\n");
fail:
        for (size_t i = 0; i < n; i++)
                wt_url_done(&urls[i]);
        free(urls);
        return -EINVAL;
}

int main(int argc, char **argv) {
        webttyd_config cfg;
        server *srv = NULL;
        wt_url *urls = NULL;
        size_t n_urls = 0;
        char **fd_names = NULL;
        int n_inherited, r;

        if (sodium_init() < 0) {
                fprintf(stderr, "webttyd: libsodium initialisation failed\n");
                return 1;
        }
        r = config_parse_argv(argc, argv, &cfg);
        if (r != 0) {
                config_done(&cfg);
                return r > 0 ? 0 : 1;
        }
        wlog_init("webttyd", cfg.log_level);
        /* Messages of up to 1 MiB are allocated and freed all the time (queued
         * WebSocket frames, protobuf copies): keep that memory in the heap
         * rather than mapping and trimming it per message. */
        (void) mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
        (void) mallopt(M_TRIM_THRESHOLD, 16 * 1024 * 1024);
        /* No core dumps or ptrace by other processes of our user: the token
         * and private keys live in this process's memory. */
        (void) prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        /* OpenSSL keeps private key numbers in its secure heap (locked,
         * wiped on free) once there is one; ours live in libsodium's. */
        r = CRYPTO_secure_malloc_init(64 * 1024, 32);
        if (r == 0)
                wlog_printf(LOG_WARNING, "OpenSSL secure heap unavailable; private keys in OpenSSL objects "
                                         "use ordinary memory");
        else if (r == 2) /* mapped and guarded, but mlock or madvise was refused */
                wlog_printf(
                        LOG_WARNING,
                        "OpenSSL secure heap could not be locked in memory (RLIMIT_MEMLOCK, or no "
                        "CAP_IPC_LOCK in a container); private keys in OpenSSL objects may be swapped out");

        n_inherited = sd_listen_fds_with_names(1, &fd_names);
        if (n_inherited < 0) {
                fprintf(stderr, "webttyd: failed to read LISTEN_FDS: %s\n", strerror(-n_inherited));
                n_inherited = 0;
        }
        r = parse_urls(&cfg, n_inherited > 0, &urls, &n_urls);
        if (r >= 0)
                r = config_validate(&cfg, urls, n_urls, (size_t) n_inherited);
        if (r >= 0)
                r = server_new(&cfg, environ, &srv); /* prints its own reason */
        if (r >= 0)
                r = listeners_open(srv, urls, n_urls, n_inherited, fd_names);
        if (r >= 0)
                r = server_run(srv);
        server_free(srv);
        for (size_t i = 0; i < n_urls; i++)
                wt_url_done(&urls[i]);
        free(urls);
        for (size_t i = 0; fd_names && fd_names[i]; i++)
                free(fd_names[i]);
        free(fd_names);
        config_done(&cfg);
        return r < 0 ? 1 : 0;
}
