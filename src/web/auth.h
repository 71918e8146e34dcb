/* Users, passwords and sessions of `consentform serve` (and `consentform user`).
 *
 * Users live in STORE/users.db (SQLite, mode 0660 so that a store shared by a group can be
 * managed by its members; the store folder itself keeps the archive's modes). A user has a
 * name, a role and a password hash (Argon2id, libargon2's encoded form with its own random
 * salt and costs). A disabled user keeps the row: archive events name people, and the name is
 * never given to someone else. Every change of a user (added, password changed, disabled) and
 * every lock-out is a row of users.db's append-only table user_events with its time and the
 * operator who made it (the archive's event chain records documents only; it has no way to
 * append an event that names no document).
 *
 * Sessions are kept in memory (one cf_auth per server process) under a mutex: the id is 256
 * random bits from getrandom(2) given to the browser once (only its SHA-256 is kept), and each
 * session has its own CSRF token. A session ends after 15 minutes without use, at logout, or
 * as soon as its user is disabled or given a new password (every cf_auth_session_get looks the
 * user up, so `consentform user disable` takes effect in a running server at the next request).
 *
 * Password hashing costs: m = 64 MiB, t = 3, one lane (about CF_AUTH_DEFAULT_* below). Tests
 * lower them with cf_auth_set_cost or, for a test of the command or the server, the environment
 * variable CONSENTFORM_TEST_ARGON2=fast (m = 1 MiB, t = 1): never set it in production. A hash
 * keeps its costs, so a password hashed cheaply in a test stays cheap until it is changed.
 *
 * Every function is thread-safe. Strings passed in are borrowed for the call. */
#ifndef CF_AUTH_H
#define CF_AUTH_H

#include "base/diag.h"
#include "base/status.h"
#include "data/ward.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef enum cf_role { CF_ROLE_NURSE, CF_ROLE_CLERK, CF_ROLE_ADMIN } cf_role;

/* "nurse", "clerk", "admin" (static strings); "?" for a value out of range. */
const char *cf_role_name(cf_role role);
/* The role named s (exactly "nurse", "clerk" or "admin"); false for anything else (s may be
 * NULL). */
bool cf_role_parse(const char *s, cf_role *out);

#define CF_AUTH_NAME_MAX 63            /* bytes of a user name */
#define CF_AUTH_PASSWORD_MIN 10        /* characters (code points) of a password */
#define CF_AUTH_PASSWORD_MAX 1024      /* bytes of a password */
#define CF_AUTH_IDLE_SECONDS (15 * 60) /* a session unused this long has ended */
#define CF_AUTH_LOCK_FAILURES 5        /* failed logins that lock the account and the address */
#define CF_AUTH_LOCK_SECONDS (15 * 60) /* how long a lock lasts */
#define CF_AUTH_SESSIONS_MAX 4096      /* live sessions; the one unused longest makes room */
#define CF_AUTH_DEFAULT_M_KIB (64u * 1024u)
#define CF_AUTH_DEFAULT_T 3u

typedef struct cf_auth cf_auth;

/* Opens (creating when missing, mode 0660) STORE/users.db; caller closes with cf_auth_close.
 * The folder must be an archive store (STORE/store-id): CF_ERR_NOINPUT otherwise, so that a
 * mistyped path does not quietly start a second user list. CF_ERR_DATA when users.db is not
 * one of ours or is from a newer version, CF_ERR_CANTCREAT when it cannot be created. */
cf_status cf_auth_open(const char *store_dir, cf_auth **out, cf_diag *diag);
/* Ends every session and closes the user list; auth may be NULL. */
void cf_auth_close(cf_auth *auth);

/* Argon2id costs for passwords hashed from now on by this cf_auth (memory in KiB, at least 8;
 * passes at least 1). For tests; the defaults are CF_AUTH_DEFAULT_M_KIB, CF_AUTH_DEFAULT_T. */
void cf_auth_set_cost(cf_auth *auth, uint32_t m_kib, uint32_t t);
/* Who is making user changes, recorded with each user_events row (NULL or "": "unknown").
 * Copied. */
void cf_auth_set_operator(cf_auth *auth, const char *operator_name);

/* A user name is 1 to CF_AUTH_NAME_MAX bytes of ASCII letters, digits and . _ - @, starting
 * with a letter or digit. True when name is one; else false with the reason in diag. */
bool cf_auth_name_check(const char *name, cf_diag *diag);
/* A password is valid UTF-8 of at least CF_AUTH_PASSWORD_MIN characters and at most
 * CF_AUTH_PASSWORD_MAX bytes, without control characters. True when password is one; else false
 * with the reason in diag (never quoting the password). */
bool cf_auth_password_check(const char *password, cf_diag *diag);

/* Adds a user. CF_ERR_DATA for a bad name or password (see the checks above), CF_ERR_EXISTS
 * when the name is taken (also by a disabled user; names compare without case). */
cf_status cf_auth_user_add(cf_auth *a, const char *name, cf_role role, const char *password,
                           cf_diag *d);
/* Gives a user a new password (ending the user's sessions). CF_ERR_NOINPUT for an unknown user,
 * CF_ERR_DATA for a bad password or a disabled user. */
cf_status cf_auth_user_passwd(cf_auth *a, const char *name, const char *password, cf_diag *d);
/* Disables a user for good (ending the user's sessions); the row stays. CF_ERR_NOINPUT for an
 * unknown user; disabling a disabled user is CF_OK with a note. */
cf_status cf_auth_user_disable(cf_auth *a, const char *name, cf_diag *d);

/* One user as cf_auth_user_each gives it; the strings are valid during the call only. */
typedef struct cf_auth_user_info {
    const char *name;
    cf_role role;
    bool disabled;
    long long created_at, changed_at; /* seconds since 1970 */
} cf_auth_user_info;

/* Calls fn for every user, by name; *count (may be NULL) gets their number. fn runs with the
 * cf_auth locked and must not call it. */
cf_status cf_auth_user_each(cf_auth *a, void (*fn)(void *ctx, const cf_auth_user_info *user),
                            void *ctx, size_t *count, cf_diag *d);

typedef enum cf_login_result {
    CF_LOGIN_OK,
    CF_LOGIN_BAD,      /* unknown user or wrong password (the same answer for both) */
    CF_LOGIN_LOCKED,   /* the account or the address is locked */
    CF_LOGIN_DISABLED, /* the right password of a disabled user */
} cf_login_result;

#define CF_AUTH_TOKEN_HEX 65 /* 256-bit random, hex + NUL */

typedef struct cf_session {
    char user[64];
    cf_role role;
    char csrf[CF_AUTH_TOKEN_HEX];
    char ward[CF_WARD_SIZE]; /* the ward last issued for in this session; "" at login */
} cf_session;

/* 5 failed logins lock the account AND the peer address for 15 minutes; a lock answers LOCKED
 * even for the right password. On OK a new session (random 256-bit id from getrandom) is
 * created: its id goes to session_id (64 hex digits) and the session to *out. Failures count
 * for an unknown name too (so that a lock does not tell which names exist); failures older than
 * 15 minutes are forgotten, and a successful login clears the account's and the address's count.
 * peer is the client's address as text (NULL or "": counted under ""). Hashing happens outside
 * the lock, so logins of several users run in parallel. */
cf_login_result cf_auth_login(cf_auth *a, const char *name, const char *password, const char *peer,
                              time_t now, char session_id[CF_AUTH_TOKEN_HEX], cf_session *out);
/* True and *out filled when the session exists and was used within 15 minutes (refreshes it),
 * and its user is still enabled with the password of the login; the role is the user's role
 * now. session_id may be NULL or anything (false). */
bool cf_auth_session_get(cf_auth *a, const char *session_id, time_t now, cf_session *out);
/* Remembers ward (checked by the caller with cf_ward_clean) as the session's ward, offered on
 * its next print page; nothing when there is no such session. */
void cf_auth_session_set_ward(cf_auth *a, const char *session_id, const char *ward);
/* Ends the session (nothing when there is none). */
void cf_auth_logout(cf_auth *a, const char *session_id);
/* True when token equals the session's CSRF token; the comparison takes the same time
 * whichever byte differs. token may be NULL (false). */
bool cf_auth_csrf_ok(const cf_session *s, const char *token);

#endif
