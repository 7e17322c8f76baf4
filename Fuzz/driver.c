// libFuzzer driver for Nabla's fuzz targets (Sources/NablaFuzz). NABLA_FUZZ_TARGET names the
// reader; every input goes to nabla_fuzz_one_input in libNablaFuzz.so. With NABLA_FUZZ_SEED_DIR
// set, the target's seed corpus is written there first. Built and run by scripts/fuzz.
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

extern int nabla_fuzz_one_input(const char *target, const uint8_t *bytes, long count);
extern int nabla_fuzz_write_seeds(const char *target, const char *folder);

static const char *target;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
    target = getenv("NABLA_FUZZ_TARGET");
    if (!target) {
        fprintf(stderr, "set NABLA_FUZZ_TARGET to one of the targets in Sources/NablaFuzz\n");
        exit(2);
    }
    const char *seeds = getenv("NABLA_FUZZ_SEED_DIR");
    if (seeds && nabla_fuzz_write_seeds(target, seeds) != 0) {
        fprintf(stderr, "could not write the seeds of %s into %s\n", target, seeds);
        exit(2);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    return nabla_fuzz_one_input(target, data, (long)size);
}
