// The completion marker of `chatforge demo`: OUT/demo-finished.json, written atomically as
// the very last file of a successful run (after chat.toml), and removed when a run starts.
// It records the options that shaped the assistant, so `demo --serve` / `demo --chat` can
// reuse a finished directory instead of training again; `--fresh` forces a rerun.
#pragma once
#include <string>

#include "demo/demo_pipeline.h"

namespace chatforge::demo {

// OUT/demo-finished.json.
std::string demo_marker_path(const std::string& out);

// Writes the marker for `opt` (atomic); `minutes_taken` is informational.
void write_demo_marker(const DemoOptions& opt, double minutes_taken);

// Removes the marker (a run that starts is not finished until it writes a new one).
void remove_demo_marker(const std::string& out);

struct ReuseDecision {
  bool reuse = false;
  std::string reason;  // why not, e.g. "it was made with --seed 7, not 2026"; or what is reused
};

// Whether opt.out holds a finished demo made with the same chatforge version, languages,
// seed, --minutes and --corpus as `opt` (host, port, --serve, --chat and --fresh do not
// matter), whose model and chat.toml are still there. Never throws: an unreadable marker
// is "not finished".
ReuseDecision check_finished_demo(const DemoOptions& opt);

}  // namespace chatforge::demo
