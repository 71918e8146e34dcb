/* Where the program's own data lives: the installed data directory, or the source tree for a
 * binary run from its build tree (a developer's build, its tests and benchmarks). */
#ifndef CF_PATHS_H
#define CF_PATHS_H

#include <stdbool.h>

/* True when the running executable (/proc/self/exe) lies inside the build directory this
 * program was configured in. An installed or copied binary is never "in the build tree", even
 * when that tree still exists. Decided once; thread-safe. */
bool cf_paths_is_build_tree(void);
/* The directory that holds forms/ (with schema/) and fonts/: the source tree for a build-tree
 * binary, else the installed data directory. Static storage. */
const char *cf_paths_data_dir(void);
/* The installed data directory (prefix/share/consentform), whether or not it exists. */
const char *cf_paths_installed_dir(void);
/* The source tree's top directory, or NULL for a binary outside its build tree. */
const char *cf_paths_source_dir(void);
/* The build directory, or NULL for a binary outside it. */
const char *cf_paths_build_dir(void);

#endif
