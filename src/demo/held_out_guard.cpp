// Implementation of held_out_guard.h: forbidden texts indexed by their first bytes, so a
// question is checked with one hash lookup per position instead of one search per text.
#include "demo/held_out_guard.h"

#include "demo/demo_data.h"
#include "demo/freeform_questions.h"
#include "demo/knowledge_base.h"

namespace chatforge::demo {
namespace {

// As the leak tests compare: without an ASCII first letter.
std::string comparable(std::string q) {
  if (!q.empty() && static_cast<unsigned char>(q[0]) < 0x80) q.erase(0, 1);
  return q;
}

}  // namespace

HeldOutGuard::HeldOutGuard(std::vector<std::string> forbidden) : forbidden_(std::move(forbidden)) {
  for (size_t i = 0; i < forbidden_.size(); ++i)
    if (forbidden_[i].size() >= kKey)
      by_key_[forbidden_[i].substr(0, kKey)].push_back(i);
    else
      short_.push_back(i);
}

const HeldOutGuard& HeldOutGuard::instance() {
  static const HeldOutGuard guard([] {
    std::vector<std::string> texts;
    for (const Intent& it : intents())
      for (Lang l : {Lang::kEn, Lang::kZh})
        for (const auto& core : it.text(l).heldout)
          for (const auto& p : product_names(l)) texts.push_back(comparable(render_question("", core, p, "")));
    for (const FreeformQuestion& f : freeform_questions()) texts.push_back(comparable(std::string(f.question)));
    for (const FreeformQuestion& f : fresh_questions()) texts.push_back(comparable(std::string(f.question)));
    return texts;
  }());
  return guard;
}

bool HeldOutGuard::leaks(std::string_view question) const {
  for (size_t i : short_)
    if (question.find(forbidden_[i]) != std::string_view::npos) return true;
  for (size_t at = 0; at < question.size(); ++at) {
    const auto it = by_key_.find(std::string(question.substr(at, kKey)));
    if (it == by_key_.end()) continue;
    for (size_t i : it->second)
      if (question.substr(at, forbidden_[i].size()) == forbidden_[i]) return true;
  }
  return false;
}

}  // namespace chatforge::demo
