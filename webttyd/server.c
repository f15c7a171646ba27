/* Daemon state, signals, readiness and graceful drain (see server.h). */
#include "server.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "listen.h"
#include "log.h"
#include "macro.h"
#include "session.h"

static void server_notify_status(server *s) {
        (void) sd_notifyf(false, "STATUS=%s%u session(s)", s->draining ? "Draining, " : "", s->n_sessions);
}

void server_session_gone(server *s) {
        server_notify_status(s);
        if (s->draining && s->n_sessions == 0)
                (void) sd_event_exit(s->event, 0);
}

static int on_final_timeout(sd_event_source *src, uint64_t usec, void *userdata) {
        server *s = userdata;

        wlog_printf(LOG_WARNING, "giving up on %u session(s)", s->n_sessions);
        (void) sd_event_exit(s->event, 0);
        return 0;
}

static int on_shutdown_timeout(sd_event_source *src, uint64_t usec, void *userdata) {
        server *s = userdata;

        wlog_printf(LOG_WARNING, "shutdown timeout: killing %u remaining session(s)", s->n_sessions);
        for (session *se = s->sessions, *next; se; se = next) {
                next = session_next(se); /* session_kill() may end the session */
                session_kill(se);
        }
        /* Killed children make their sessions send Close and end within the
         * close deadline; do not wait longer than that. */
        if (sd_event_add_time_relative(s->event, &s->final_timer, CLOCK_MONOTONIC,
                                       s->cfg->close_timeout_usec + 1000000, 0, on_final_timeout, s) < 0)
                (void) sd_event_exit(s->event, 0);
        return 0;
}

void server_begin_drain(server *s) {
        session *se, *next;

        if (s->draining)
                return;
        s->draining = true;
        (void) sd_notify(false, "STOPPING=1");
        wlog_printf(LOG_INFO, "draining %u session(s)", s->n_sessions);
        for (se = s->sessions; se; se = next) {
                next = session_next(se);
                session_drain(se);
        }
        if (s->n_sessions == 0) {
                (void) sd_event_exit(s->event, 0);
                return;
        }
        if (sd_event_add_time_relative(s->event, &s->shutdown_timer, CLOCK_MONOTONIC,
                                       s->cfg->shutdown_timeout_usec, 0, on_shutdown_timeout, s) < 0)
                (void) sd_event_exit(s->event, 0);
}

static int on_term_signal(sd_event_source *src, const struct signalfd_siginfo *si, void *userdata) {
        server *s = userdata;

        if (s->draining) {
                /* A second signal: stop now. */
                (void) sd_event_exit(s->event, 0);
                return 0;
        }
        server_begin_drain(s);
        return 0;
}

int server_new(webttyd_config *cfg, char **daemon_env, server **ret) {
        server *s;
        sigset_t mask;
        int r;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->cfg = cfg;
        s->policy = (spawn_policy){
                .mode = cfg->mode,
                .login_user = cfg->login_user,
                .allow_client_user = cfg->allow_client_user,
                .daemon_env = daemon_env,
        };
        s->login = (login_service){
                .socket_path = cfg->login_socket ? cfg->login_socket : LOGIN_DEFAULT_SOCKET,
                .helper_path = cfg->login_helper,
                .login_user = cfg->login_user,
                .allow_client_user = cfg->allow_client_user,
                .env = daemon_env,
        };
        r = protection_setup(cfg, &s->prot);
        if (r < 0)
                goto fail;
        r = sd_event_default(&s->event);
        if (r < 0)
                goto fail_loop;
        /* sd-event needs SIGCHLD blocked for child sources; TERM/INT become events. */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
                r = -errno;
                goto fail_loop;
        }
        (void) signal(SIGPIPE, SIG_IGN);
        r = sd_event_add_signal(s->event, &s->sigterm, SIGTERM, on_term_signal, s);
        if (r >= 0)
                r = sd_event_add_signal(s->event, &s->sigint, SIGINT, on_term_signal, s);
        if (r >= 0)
                r = sd_event_set_watchdog(s->event, true);
        if (r < 0)
                goto fail_loop;
        *ret = s;
        return 0;
fail:
        server_free(s);
        return r;
fail_loop:
        fprintf(stderr, "webttyd: failed to set up the event loop: %s\n", strerror(-r));
        server_free(s);
        return r;
}

server *server_free(server *s) {
        if (!s)
                return NULL;
        session_free_all(s);
        listeners_free(s);
        s->shutdown_timer = sd_event_source_disable_unref(s->shutdown_timer);
        s->final_timer = sd_event_source_disable_unref(s->final_timer);
        s->sigterm = sd_event_source_disable_unref(s->sigterm);
        s->sigint = sd_event_source_disable_unref(s->sigint);
        sd_event_unref(s->event);
        protection_done(&s->prot);
        free(s);
        return NULL;
}

int server_run(server *s) {
        int r;

        (void) sd_notify(false, "READY=1\nSTATUS=Serving");
        wlog_printf(LOG_INFO, "ready");
        r = sd_event_loop(s->event);
        return r;
}
