// Keeps the evaluation questions out of the training data. The generator combines
// phrasings, wrappers, lower-casing and rewording at random, so now and then a training
// question comes out containing a held-out template phrasing or a free-form question word
// for word (as the tests on the written files check: the text without its first letter,
// whose case depends on the wrapper). The guard knows every such text and says whether a
// generated question contains one, so the generator can draw another.
#pragma once
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chatforge::demo {

class HeldOutGuard {
 public:
  // Every template held-out phrasing with each product name, and every free-form and fresh
  // question.
  static const HeldOutGuard& instance();
  explicit HeldOutGuard(std::vector<std::string> forbidden);
  // True when `question` contains one of the forbidden texts.
  bool leaks(std::string_view question) const;
  size_t size() const { return forbidden_.size(); }

 private:
  static constexpr size_t kKey = 6;  // texts are found through their first kKey bytes
  std::vector<std::string> forbidden_;
  std::unordered_map<std::string, std::vector<size_t>> by_key_;
  std::vector<size_t> short_;  // texts shorter than kKey, searched for directly
};

}  // namespace chatforge::demo
