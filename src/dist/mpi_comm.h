// The MPI implementation of Comm (internal to src/dist: callers use make_comm()).
// MPI_Init runs in the constructor and MPI_Finalize in the destructor; a watchdog thread
// ends the job when one collective takes longer than the timeout (a dead or hung peer).
#pragma once
#include <memory>

#include "dist/comm.h"

namespace chatforge::dist {

std::unique_ptr<Comm> make_mpi_comm(double timeout_s);

}  // namespace chatforge::dist
