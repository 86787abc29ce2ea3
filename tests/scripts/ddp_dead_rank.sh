#!/usr/bin/env bash
# A rank that dies or hangs stops the whole job within a bounded time with a clear message,
# and the last checkpoint stays loadable. (1) SIGKILL of rank 1: mpirun notices and ends
# rank 0. (2) SIGSTOP of rank 1 (a hung peer, which no launcher notices): rank 0's
# watchdog gives up after --comm-timeout seconds with our message.
# ctest: alone (it checks timeouts or measures time)
set -euo pipefail
source "$(dirname "$0")/lib/make_text_shards.sh"
source "$(dirname "$0")/lib/mpi.sh"
tmp=$CF_BINARY_DIR/test-tmp/ddp_dead_rank
rm -rf "$tmp"; mkdir -p "$tmp"
make_text_shards "$tmp"
common=(--data "$tmp/shards" --tokenizer "$tmp/tok" --n-layer 2 --n-head 2 --n-embd 32 --seq-len 32
        --batch-size 2 --steps 100000 --eval-every 0 --save-every 5 --keep 1 --lr 2e-3 --no-progress --seed 2
        --peak-gflops 10 --comm-timeout 10)

# pid of the chatforge process that is rank $1 of the job whose output directory is $2
rank_pid() {
  for p in $(pgrep -f chatforge); do  # (OpenMPI renames the process "exe")
    if grep -qzx "OMPI_COMM_WORLD_RANK=$1" "/proc/$p/environ" 2>/dev/null &&
       grep -qzxF -- "$2" "/proc/$p/cmdline" 2>/dev/null; then echo "$p"; return; fi
  done
}

# starts a job, waits for its first checkpoint, hits rank 1 with signal $2, and checks the
# job ends within $3 seconds with a message matching $4
run_and_break() {
  local name=$1 sig=$2 limit=$3 pattern=$4 out=$tmp/$1
  # mpirun itself in the background (not a subshell), so $! is the launcher
  mpirun --allow-run-as-root --oversubscribe --bind-to none -np 2 env OMP_NUM_THREADS=1 \
    "$CHATFORGE" train "${common[@]}" --out "$out" >"$tmp/$name.out" 2>"$tmp/$name.log" &
  local job=$!
  for _ in $(seq 600); do [ -e "$out/last" ] && break; sleep 0.1; done
  [ -e "$out/last" ] || { kill $job; wait $job || true; echo "FAIL: $name: no checkpoint"; exit 1; }
  local victim; victim=$(rank_pid 1 "$out")
  [ -n "$victim" ] || { kill $job; wait $job || true; echo "FAIL: $name: rank 1 not found"; exit 1; }
  local t0=$SECONDS
  kill "-$sig" "$victim"
  local ended=0
  for _ in $(seq $((limit * 10))); do kill -0 $job 2>/dev/null || { ended=1; break; }; sleep 0.1; done
  if [ $ended = 0 ]; then
    kill -9 "$victim" 2>/dev/null || true; kill $job 2>/dev/null || true; wait $job || true
    echo "FAIL: $name: the job still runs $limit s after SIG$sig of rank 1"; exit 1
  fi
  local rc=0; wait $job || rc=$?
  [ $rc != 0 ] || { echo "FAIL: $name: the job exited 0 after losing a rank"; exit 1; }
  cat "$tmp/$name.out" >>"$tmp/$name.log"
  grep -Eq "$pattern" "$tmp/$name.log" || { cat "$tmp/$name.log"; echo "FAIL: $name: no clear message"; exit 1; }
  echo "$name: job ended in $((SECONDS - t0)) s (exit $rc) after SIG$sig of rank 1: $(grep -Em1 "$pattern" "$tmp/$name.log")"
  # the last checkpoint loads and training continues from it on one rank
  local at; at=$(readlink "$out/last"); at=$((10#${at#step_}))
  OMP_NUM_THREADS=1 "$CHATFORGE" train --resume "$out" --steps $((at + 2)) --no-progress 2>"$tmp/$name.resume.log" ||
    { cat "$tmp/$name.resume.log"; echo "FAIL: $name: last checkpoint does not resume"; exit 1; }
  grep -q "resuming .* at step $at of $((at + 2))" "$tmp/$name.resume.log"
}

run_and_break killed KILL 40 "exited on signal 9|rank 1|killed"
run_and_break hung STOP 40 "waited more than 10 s \(--comm-timeout\): another rank has died or hangs"
echo "a dead or hung rank stops the job in bounded time; the last checkpoint resumes"
