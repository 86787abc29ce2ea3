// Implementation of the launcher-independent parts of comm.h: the one-rank group, the
// launcher detection and the factory.
#include "dist/comm.h"

#include <cstdlib>

#include "dist/mpi_comm.h"

namespace chatforge::dist {

std::unique_ptr<Request> LocalComm::all_reduce_sum_async(float*, size_t) { return std::make_unique<CompletedRequest>(); }

bool launched_as_rank() {
  // mpirun/mpiexec of OpenMPI set OMPI_COMM_WORLD_SIZE; PMIx launchers (OpenMPI >= 4,
  // `srun --mpi=pmix`) set PMIX_RANK; PMI-1/2 launchers (`srun --mpi=pmi2`, MPICH's
  // hydra) set PMI_RANK / PMI_SIZE. A plain shell sets none of them.
  for (const char* var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"})
    if (std::getenv(var) != nullptr) return true;
  return false;
}

std::unique_ptr<Comm> make_comm(double timeout_s) {
  if (launched_as_rank()) return make_mpi_comm(timeout_s);
  return std::make_unique<LocalComm>();
}

std::vector<size_t> shard_counts(size_t n, int world) {
  std::vector<size_t> c(static_cast<size_t>(world), n / static_cast<size_t>(world));
  for (size_t r = 0; r < n % static_cast<size_t>(world); ++r) ++c[r];
  return c;
}

}  // namespace chatforge::dist
