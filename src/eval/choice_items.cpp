// Multiple-choice items (see choice_items.h).
#include "eval/choice_items.h"

#include <fmt/format.h>

#include <set>

#include "core/error.h"
#include "eval/text_files.h"

namespace chatforge::eval {

std::vector<ChoiceItem> load_choice_items(const std::string& path, const std::string& group_field) {
  std::vector<ChoiceItem> items;
  std::set<std::string> ids;
  for (const auto& rec : read_jsonl(path)) {
    const auto& v = rec.value;
    ChoiceItem it;
    it.line = rec.line;
    CF_CHECK(v.is_object(), "{}:{}: expected a JSON object", path, rec.line);
    if (v.contains("id")) {
      it.id = v["id"].is_string() ? v["id"].get<std::string>() : v["id"].dump();
    } else {
      it.id = std::to_string(rec.line);
    }
    CF_CHECK(ids.insert(it.id).second, "{}:{}: duplicate item id '{}'", path, rec.line, it.id);
    const std::string where = fmt::format("{}:{}: item '{}'", path, rec.line, it.id);
    CF_CHECK(v.contains("prompt") && v["prompt"].is_string() && !v["prompt"].get<std::string>().empty(),
             "{}: needs a non-empty string 'prompt'", where);
    it.prompt = v["prompt"].get<std::string>();
    CF_CHECK(v.contains("choices"), "{}: 'choices' missing", where);
    CF_CHECK(v["choices"].is_array() && v["choices"].size() >= 2, "{}: 'choices' must be an array of at least 2 options",
             where);
    for (size_t c = 0; c < v["choices"].size(); ++c) {
      const auto& ch = v["choices"][c];
      CF_CHECK(ch.is_string() && !ch.get<std::string>().empty(), "{}: choices[{}] must be a non-empty string", where, c);
      it.choices.push_back(ch.get<std::string>());
    }
    CF_CHECK(v.contains("answer"), "{}: 'answer' (index of the right choice) missing", where);
    CF_CHECK(v["answer"].is_number_integer(), "{}: 'answer' must be an integer index", where);
    const int64_t ans = v["answer"].get<int64_t>();
    CF_CHECK(ans >= 0 && ans < static_cast<int64_t>(it.choices.size()),
             "{}: answer index {} out of range (0..{})", where, ans, it.choices.size() - 1);
    it.answer = static_cast<size_t>(ans);
    if (!group_field.empty()) {
      CF_CHECK(v.contains(group_field), "{}: group field '{}' missing", where, group_field);
      const auto& g = v[group_field];
      it.group = g.is_string() ? g.get<std::string>() : (g.is_null() ? "" : g.dump());
      CF_CHECK(!it.group.empty(), "{}: group field '{}' is empty", where, group_field);
    }
    items.push_back(std::move(it));
  }
  CF_CHECK(!items.empty(), "{}: no items", path);
  return items;
}

}  // namespace chatforge::eval
