// Stop strings over streamed text: feed decoded chunks, get back the text that is safe to
// show now. A tail that could still become a stop string is held back until it either
// completes one (matched(): the output ends right before it) or cannot any more.
// Byte-level, so it works for any UTF-8 text: push("Hel"), push("lo\nUser:") with stop
// "\nUser:" returns "Hel", "lo" and sets matched().
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace chatforge::infer {

class StopStringMatcher {
 public:
  explicit StopStringMatcher(std::vector<std::string> stops);
  std::string push(std::string_view text);  // safe text; empty once matched()
  std::string flush();                      // the held-back tail at the end of generation
  bool matched() const { return matched_; }

 private:
  std::vector<std::string> stops_;
  std::string held_;
  bool matched_ = false;
};

}  // namespace chatforge::infer
