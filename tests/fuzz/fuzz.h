/* The one entry point every fuzz harness defines (libFuzzer's). Built with -Dfuzz=true and
 * clang, libFuzzer drives it; otherwise replay.c replays saved inputs through it, so that every
 * corpus file and every fixed crash stays covered by `meson test`. */
#ifndef CF_FUZZ_H
#define CF_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
