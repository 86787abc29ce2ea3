# Sourced by the data-parallel script tests: `cf_mpirun N ARGS...` runs N chatforge ranks
# under OpenMPI on this machine (one thread each; root allowed; more ranks than cores ok).
cf_mpirun() {
  local n=$1; shift
  OMPI_MCA_rmaps_base_oversubscribe=1 mpirun --allow-run-as-root --oversubscribe --bind-to none -np "$n" \
    env OMP_NUM_THREADS=1 "$CHATFORGE" "$@"
}
