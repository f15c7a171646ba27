/* The daemon's shared state: the event loop, listeners, the list of live
 * sessions, and graceful shutdown. One process, one sd-event loop. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-event.h>

#include "loginclient.h"
#include "options.h"
#include "protect.h"
#include "spawn.h"

typedef struct session session;
typedef struct listener listener;

typedef struct server {
        sd_event *event;
        webttyd_config *cfg;
        spawn_policy policy;
        login_service login; /* login mode: where sessions go (never run here) */
        server_protection prot;
        listener *listeners;
        session *sessions; /* linked by session.c */
        unsigned n_sessions;
        bool draining;
        sd_event_source *shutdown_timer, *final_timer;
        sd_event_source *sigterm, *sigint;
} server;

int server_new(webttyd_config *cfg, char **daemon_env, server **ret);
server *server_free(server *s);
int server_run(server *s);

/* Called by session.c when a session is gone (exits the loop when draining
 * and none is left). */
void server_session_gone(server *s);

/* Begins a graceful drain: refuse new sessions, ask children to stop, kill
 * them after the shutdown timeout, exit when the last session is gone. */
void server_begin_drain(server *s);
