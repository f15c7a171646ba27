/* policy/accountsdb-read.c: a database opened from arbitrary bytes; when it
 * opens, every lookup, enumeration, group member and copy is exercised, with
 * names and ids taken from the file itself and from the input's tail. */
#include <endian.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "accountsdb.h"

static void touch_user(const accountsdb *db, const accountsdb_user *u) {
        char buf[256];
        struct passwd pw;
        accountsdb_user v;
        size_t cursor = 0;
        gid_t gid;
        int n = 0;

        (void) accountsdb_user_to_passwd(u, &pw, buf, sizeof(buf));
        (void) accountsdb_user_to_passwd(u, &pw, buf, 7);
        /* A mutated index may not find the record (only ever a miss: each
         * hit is compared with the key), never read outside the input. */
        (void) accountsdb_user_by_name(db, u->name, &v);
        (void) accountsdb_user_by_uid(db, u->uid, &v);
        while (accountsdb_member_next(db, u->name, &cursor, &gid) > 0 && n++ < 100000)
                ;
}

static void touch_group(const accountsdb *db, const accountsdb_group *g) {
        char buf[512];
        struct group gr;
        accountsdb_group h;

        for (size_t i = 0; i < g->n_members && i < 64; i++)
                if (!accountsdb_group_member(db, g, i))
                        abort();
        (void) accountsdb_group_to_group(db, g, &gr, buf, sizeof(buf));
        (void) accountsdb_group_by_name(db, g->name, &h);
        (void) accountsdb_group_by_gid(db, g->gid, &h);
}

static void run(const uint8_t *data, size_t size) {
        accountsdb *db = NULL;
        accountsdb_user u;
        accountsdb_group g;
        char name[40];

        if (accountsdb_open_memory(data, size, &db) < 0)
                return;
        for (size_t i = 0; i < accountsdb_n_users(db) && i < 4096; i++)
                if (accountsdb_user_at(db, i, &u) == 0)
                        touch_user(db, &u);
        for (size_t i = 0; i < accountsdb_n_groups(db) && i < 4096; i++)
                if (accountsdb_group_at(db, i, &g) == 0)
                        touch_group(db, &g);
        /* Lookups of things that are probably absent. */
        memset(name, 0, sizeof(name));
        memcpy(name, data + size - (size < 33 ? size : 33), size < 33 ? size : 33);
        name[39] = 0;
        (void) accountsdb_user_by_name(db, name, &u);
        (void) accountsdb_group_by_name(db, name, &g);
        (void) accountsdb_user_by_uid(db, (uid_t) size, &u);
        (void) accountsdb_group_by_gid(db, (gid_t) size, &g);
        (void) accountsdb_is_stale(db);
        accountsdb_close(db);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        uint8_t *fixed;
        uint64_t c;

        run(data, size);
        /* Again with the checksum made right, so that mutations reach the
         * structural checks and the lookups instead of stopping at the
         * checksum (an exact-size copy: ASan sees reads past the end). */
        if (size < ACCOUNTSDB_CHECKSUM_START)
                return 0;
        fixed = malloc(size);
        if (!fixed)
                return 0;
        memcpy(fixed, data, size);
        c = htole64(
                accountsdb_checksum(fixed + ACCOUNTSDB_CHECKSUM_START, size - ACCOUNTSDB_CHECKSUM_START));
        memcpy(fixed + 16, &c, sizeof(c));
        run(fixed, size);
        free(fixed);
        return 0;
}
