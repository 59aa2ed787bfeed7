/* Provenance attributes of the files dlx writes; see provenance.h. */
#include "provenance.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "h5write.h"

/* meson's vcs_tag writes dlx_commit.h into the build directory at every
 * build; a build without it (the fuzz harnesses' clang line) says unknown */
#if defined(__has_include)
#if __has_include("dlx_commit.h")
#include "dlx_commit.h"
#endif
#endif
#ifndef DLX_COMMIT
#define DLX_COMMIT "unknown"
#endif
#ifndef DLX_VERSION
#define DLX_VERSION "unknown"
#endif

#define COMMAND_MAX 4096
static char g_command[COMMAND_MAX];

/* Append s to the command, single-quoted when it holds anything a shell
 * would read specially; false once the buffer is full. */
static int append_word(size_t *len, const char *s)
{
    bool plain = *s != '\0';
    for (const char *c = s; *c && plain; c++)
        plain = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./=:,+@%", *c) != NULL;
    char word[COMMAND_MAX];
    size_t n = 0;
    if (!plain)
        word[n++] = '\'';
    for (const char *c = s; *c && n + 5 < sizeof word; c++) {
        if (*c == '\'' && !plain) { /* ' -> '\'' */
            memcpy(word + n, "'\\''", 4);
            n += 4;
        } else {
            word[n++] = *c;
        }
    }
    if (!plain)
        word[n++] = '\'';
    word[n] = '\0';
    int w = snprintf(g_command + *len, sizeof g_command - *len, "%s%s", *len ? " " : "", word);
    if (w < 0 || (size_t)w >= sizeof g_command - *len)
        return 0;
    *len += (size_t)w;
    return 1;
}

void dlx_provenance_set_command(int argc, char *const *argv)
{
    size_t len = 0;
    g_command[0] = '\0';
    for (int i = 0; i < argc; i++)
        if (!append_word(&len, argv[i])) {
            memcpy(g_command + sizeof g_command - 4, "...", 4);
            return;
        }
}

const char *dlx_provenance_commit(void) { return DLX_COMMIT; }

int dlx_provenance_write(hid_t obj)
{
    char when[32] = "", host[256] = "";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (gethostname(host, sizeof host - 1) != 0)
        host[0] = '\0';
    host[sizeof host - 1] = '\0';
    if (dlx_h5w_attr_text(obj, "dlx_version", DLX_VERSION) || dlx_h5w_attr_text(obj, "dlx_commit", DLX_COMMIT) ||
        dlx_h5w_attr_text(obj, "created", when) || dlx_h5w_attr_text(obj, "host", host) ||
        dlx_h5w_attr_text(obj, "command", g_command))
        return -1;
    return 0;
}
