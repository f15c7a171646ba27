/* Data root, default paths and names (see datadir.h). */
#include "datadir.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "errmsg.h"
#include "macro.h"
#include "trimspace.h"

/* malloc'd trimmed copy of s (NULL -> ""). */
static char *trimmed(const char *s) {
        size_t off, len;

        if (!s)
                return strdup("");
        trim_space(s, strlen(s), &off, &len);
        return strndup(s + off, len);
}

static int oom(char **ret_error) {
        return errmsg_set(ret_error, -ENOMEM, "%s", strerror(ENOMEM));
}

int datadir_home(char **ret, char **ret_error) {
        const char *home = getenv("HOME");
        struct passwd pw, *res = NULL;
        _cleanup_free_ char *buf = NULL;
        long size;
        int r;

        if (home && *home) {
                *ret = strdup(home);
                return *ret ? 0 : oom(ret_error);
        }
        size = sysconf(_SC_GETPW_R_SIZE_MAX);
        if (size <= 0)
                size = 16384;
        buf = malloc((size_t) size);
        if (!buf)
                return oom(ret_error);
        r = getpwuid_r(geteuid(), &pw, buf, (size_t) size, &res);
        if (r != 0 || !res || !res->pw_dir || !*res->pw_dir)
                return errmsg_set(ret_error, -ENOENT, "cannot determine the home directory");
        *ret = strdup(res->pw_dir);
        return *ret ? 0 : oom(ret_error);
}

int path_clean(const char *path, char **ret) {
        size_t n = strlen(path);
        bool rooted = n > 0 && path[0] == '/';
        char *out = malloc(n + 2);
        size_t w = 0, dotdot = 0; /* out[0..dotdot) may not be backtracked over */
        size_t i = 0;

        if (!out)
                return -ENOMEM;
        if (rooted) {
                out[w++] = '/';
                dotdot = 1;
                i = 1;
        }
        while (i < n) {
                if (path[i] == '/') {
                        i++;
                } else if (path[i] == '.' && (i + 1 == n || path[i + 1] == '/')) {
                        i++;
                } else if (path[i] == '.' && path[i + 1] == '.' && (i + 2 == n || path[i + 2] == '/')) {
                        i += 2;
                        if (w > dotdot) {
                                /* drop the last element */
                                w--;
                                while (w > dotdot && out[w] != '/')
                                        w--;
                        } else if (!rooted) {
                                if (w > 0)
                                        out[w++] = '/';
                                out[w++] = '.';
                                out[w++] = '.';
                                dotdot = w;
                        }
                } else {
                        if ((rooted && w != 1) || (!rooted && w != 0))
                                out[w++] = '/';
                        while (i < n && path[i] != '/')
                                out[w++] = path[i++];
                }
        }
        if (w == 0)
                out[w++] = '.';
        out[w] = 0;
        *ret = out;
        return 0;
}

int path_join(const char *a, const char *b, char **ret) {
        _cleanup_free_ char *j = NULL;

        if (!*a)
                return path_clean(b, ret);
        if (!*b)
                return path_clean(a, ret);
        if (asprintf(&j, "%s/%s", a, b) < 0)
                return -ENOMEM;
        return path_clean(j, ret);
}

int path_base(const char *path, char **ret) {
        size_t n = strlen(path), start;

        if (n == 0) {
                *ret = strdup(".");
                return *ret ? 0 : -ENOMEM;
        }
        while (n > 0 && path[n - 1] == '/')
                n--;
        if (n == 0) {
                *ret = strdup("/");
                return *ret ? 0 : -ENOMEM;
        }
        start = n;
        while (start > 0 && path[start - 1] != '/')
                start--;
        *ret = strndup(path + start, n - start);
        return *ret ? 0 : -ENOMEM;
}

int datadir_root(char **ret, char **ret_error) {
        _cleanup_free_ char *env = trimmed(getenv("RSTREAM_DATA_DIR")), *home = NULL;
        int r;

        if (!env)
                return oom(ret_error);
        if (*env) {
                if (env[0] != '/')
                        return errmsg_set(ret_error, -EINVAL, "RSTREAM_DATA_DIR must be an absolute path");
                r = path_clean(env, ret);
                return r < 0 ? oom(ret_error) : 0;
        }
        r = datadir_home(&home, ret_error);
        if (r < 0)
                return r;
        r = path_join(home, ".rstream", ret);
        return r < 0 ? oom(ret_error) : 0;
}

int datadir_expand_user_path(const char *value, char **ret, char **ret_error) {
        _cleanup_free_ char *v = trimmed(value), *home = NULL;
        int r;

        if (!v)
                return oom(ret_error);
        if (strcmp(v, "~") != 0 && strncmp(v, "~/", 2) != 0) {
                *ret = TAKE_PTR(v);
                return 0;
        }
        r = datadir_home(&home, ret_error);
        if (r < 0)
                return r;
        if (v[1] == 0) {
                *ret = TAKE_PTR(home);
                return 0;
        }
        r = path_join(home, v + 2, ret);
        return r < 0 ? oom(ret_error) : 0;
}

bool datadir_name_valid(const char *name) {
        if (!name || !*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return false;
        for (const char *p = name; *p; p++) {
                char c = *p;

                if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-'))
                        return false;
        }
        return true;
}

/* DATA joined with rel. */
static int under_root(const char *rel, char **ret, char **ret_error) {
        _cleanup_free_ char *root = NULL;
        int r;

        r = datadir_root(&root, ret_error);
        if (r < 0)
                return r;
        r = path_join(root, rel, ret);
        return r < 0 ? oom(ret_error) : 0;
}

int datadir_identities_dir(char **ret, char **ret_error) {
        return under_root("webtty/identities", ret, ret_error);
}

int datadir_identity_path(const char *name, char **ret, char **ret_error) {
        _cleanup_free_ char *n = trimmed(name), *rel = NULL;

        if (!n)
                return oom(ret_error);
        if (!*n)
                return errmsg_set(ret_error, -EINVAL, "--server-id is required");
        if (!datadir_name_valid(n))
                return errmsg_set(ret_error, -EINVAL, "--server-id contains unsupported characters");
        if (asprintf(&rel, "webtty/identities/%s.identity.json", n) < 0) {
                rel = NULL;
                return oom(ret_error);
        }
        return under_root(rel, ret, ret_error);
}

int datadir_known_servers_path(char **ret, char **ret_error) {
        return under_root("webtty/known_servers.json", ret, ret_error);
}

int datadir_authorized_clients_path(const char *store, char **ret, char **ret_error) {
        _cleanup_free_ char *n = trimmed(store), *rel = NULL;

        if (!n)
                return oom(ret_error);
        if (!*n) {
                free(n);
                n = strdup("default");
                if (!n)
                        return oom(ret_error);
        }
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 || strpbrk(n, "/\\"))
                return errmsg_set(
                        ret_error, -EINVAL,
                        "authorized WebTTY client store name contains unsupported path characters");
        if (asprintf(&rel, "webtty/authorized_clients/%s.json", n) < 0) {
                rel = NULL;
                return oom(ret_error);
        }
        return under_root(rel, ret, ret_error);
}

static bool has_suffix(const char *s, const char *suffix) {
        size_t n = strlen(s), m = strlen(suffix);

        return n >= m && strcmp(s + n - m, suffix) == 0;
}

int datadir_identity_name_from_path(const char *path, char **ret) {
        _cleanup_free_ char *t = trimmed(path), *base = NULL, *stem = NULL;
        char *dot;
        int r;

        if (!t)
                return -ENOMEM;
        r = path_base(t, &base);
        if (r < 0)
                return r;
        if (has_suffix(base, ".identity.json"))
                base[strlen(base) - strlen(".identity.json")] = 0;
        dot = strrchr(base, '.');
        if (dot)
                *dot = 0;
        stem = trimmed(base);
        if (!stem)
                return -ENOMEM;
        if (!*stem) {
                *ret = strdup("default");
                return *ret ? 0 : -ENOMEM;
        }
        *ret = TAKE_PTR(base);
        return 0;
}

static bool blank(const char *s) {
        size_t off, len;

        if (!s)
                return true;
        trim_space(s, strlen(s), &off, &len);
        return len == 0;
}

int datadir_store_name(const store_name_sources *s, char **ret) {
        const char *direct[] = {s->identity, s->server_id, s->enrollment_server_id};
        const char *files[] = {s->identity_file, s->env_identity_file, s->enrollment_identity_file};

        for (size_t i = 0; i < ELEMENTSOF(direct); i++)
                if (!blank(direct[i])) {
                        *ret = trimmed(direct[i]);
                        return *ret ? 0 : -ENOMEM;
                }
        for (size_t i = 0; i < ELEMENTSOF(files); i++)
                if (!blank(files[i]))
                        return datadir_identity_name_from_path(files[i], ret);
        *ret = strdup("default");
        return *ret ? 0 : -ENOMEM;
}

int datadir_authorized_clients_file(bool flag_set, const char *flag_file, const store_name_sources *s,
                                    char **ret, char **ret_error) {
        _cleanup_free_ char *name = NULL;
        const char *env;
        int r;

        if (flag_set) {
                if (blank(flag_file))
                        return errmsg_set(ret_error, -EINVAL, "--authorized-clients-file is empty");
                return datadir_expand_user_path(flag_file, ret, ret_error);
        }
        env = getenv("RSTREAM_WEBTTY_AUTHORIZED_CLIENTS_FILE");
        if (!blank(env))
                return datadir_expand_user_path(env, ret, ret_error);
        r = datadir_store_name(s, &name);
        if (r < 0)
                return oom(ret_error);
        return datadir_authorized_clients_path(name, ret, ret_error);
}
