/* Whether this binary runs from its build tree, and so where its forms, schema and fonts are. */
#include "base/paths.h"

#include "cf_config.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool in_build_tree;

/* Compares real paths, so that symbolic links and "../" in either never decide. */
static void decide(void)
{
    char exe[PATH_MAX], build[PATH_MAX];
    if (realpath("/proc/self/exe", exe) == NULL || realpath(CF_BUILD_DIR, build) == NULL)
        return;
    size_t n = strlen(build);
    in_build_tree = strncmp(exe, build, n) == 0 && exe[n] == '/';
}

bool cf_paths_is_build_tree(void)
{
    pthread_once(&once, decide);
    return in_build_tree;
}

const char *cf_paths_data_dir(void)
{
    return cf_paths_is_build_tree() ? CF_SOURCE_DIR : CF_DATADIR;
}

const char *cf_paths_installed_dir(void)
{
    return CF_DATADIR;
}

const char *cf_paths_source_dir(void)
{
    return cf_paths_is_build_tree() ? CF_SOURCE_DIR : NULL;
}

const char *cf_paths_build_dir(void)
{
    return cf_paths_is_build_tree() ? CF_BUILD_DIR : NULL;
}
