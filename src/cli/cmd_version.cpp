// `chatforge version`: prints the version and how this binary was built (BLAS, threads).
#include <omp.h>

#include <cstdio>
#include <cstdlib>

#include "cli/command.h"
#include "core/version.h"
#include "ops/ops.h"

namespace chatforge::cli {
namespace {
void setup(CLI::App& cmd) {
  cmd.callback([] {
    std::printf("chatforge %s\n", CHATFORGE_VERSION);
    std::printf("cpu threads: %d (OMP_NUM_THREADS to change)\n", default_threads());
    std::printf("blas core: %s%s\n", ops::blas_core_name(),
                std::getenv("OPENBLAS_CORETYPE") ? " (OPENBLAS_CORETYPE)" : " (detected)");
#ifdef __AVX512F__
    std::printf("simd: avx512\n");
#elif defined(__AVX2__)
    std::printf("simd: avx2\n");
#else
    std::printf("simd: baseline\n");
#endif
  });
}
}  // namespace
CF_REGISTER_COMMAND({"version", "print the version and build information", setup, 1000});
}  // namespace chatforge::cli
