// The NCCL implementation of Comm, for data parallelism over GPUs (one rank per GPU,
// launched with mpirun/srun like the MPI one, which it is built on: the host
// communicator carries NCCL's unique id and every host-side call). Float collectives take
// DEVICE pointers of the rank's current CUDA device; the double all-reduce, broadcast and
// barrier are host-side and go through the host communicator.
#pragma once
#include <memory>

#include "dist/comm.h"

namespace chatforge::dist {

// True when this binary has NCCL (CHATFORGE_HAS_NCCL: the CUDA toolkit ships it).
bool nccl_built();

// An NCCL group over the same ranks as `host` (every rank calls this together, after
// selecting its CUDA device). Throws Error when NCCL is not built in or fails to start.
// `host` must outlive the result.
std::unique_ptr<Comm> make_nccl_comm(Comm& host);

}  // namespace chatforge::dist
