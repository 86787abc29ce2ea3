# Sourced by the serve script tests. start_server LOG ARGS...: starts `chatforge serve
# --port 0 ARGS...` in the background, waits for its "listening on" line and sets PORT,
# BASE (http://127.0.0.1:PORT) and SERVER_PID. stop_server: SIGTERM, wait, check exit 0.
# need_node_pkgs PKG...: makes sure the pinned npm packages are in .cache/testdeps.
start_server() {
  local log=$1; shift
  "$CHATFORGE" serve --port 0 "$@" >"$log" 2>&1 &
  SERVER_PID=$!
  local deadline=$((SECONDS + 60))
  until grep -q 'listening on http://' "$log" 2>/dev/null; do
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then cat "$log" >&2; echo "FAIL: server did not start" >&2; exit 1; fi
    [ $SECONDS -lt $deadline ] || { echo "FAIL: server start timed out" >&2; exit 1; }
    sleep 0.1
  done
  PORT=$(sed -n 's|.*listening on http://[^:]*:\([0-9]*\).*|\1|p' "$log" | head -1)
  BASE="http://127.0.0.1:$PORT"
}
stop_server() {
  [ -n "${SERVER_PID:-}" ] || return 0
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  local rc=0
  wait "$SERVER_PID" || rc=$?
  SERVER_PID=
  return $rc
}
need_node_pkgs() {
  command -v node >/dev/null || { echo "node not installed: skipped"; exit 77; }
  export NODE_PATH="$CF_SOURCE_DIR/.cache/testdeps/node_modules"
  local p missing=0
  for p in "$@"; do [ -d "$NODE_PATH/$p" ] || missing=1; done
  [ $missing -eq 0 ] || (cd "$CF_SOURCE_DIR" && bash scripts/fetch_testdeps.sh)
  for p in "$@"; do [ -d "$NODE_PATH/$p" ] || { echo "npm package $p unavailable: skipped"; exit 77; }; done
}
