// JSONL evaluation items (see eval_items.h).
#include "eval/eval_items.h"

#include <fmt/format.h>

#include <set>

#include "core/error.h"
#include "core/json_util.h"
#include "eval/text_files.h"

namespace chatforge::eval {
namespace {

const char* const kReferenceFields[] = {"references", "reference", "answers", "answer", "target", "output"};

std::string scalar_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  if (v.is_null()) return "";
  return v.dump();
}

}  // namespace

std::vector<EvalItem> load_eval_items(const std::string& path, const EvalItemFields& fields) {
  std::vector<EvalItem> items;
  std::set<std::string> ids;
  for (const auto& rec : read_jsonl(path)) {
    const auto& v = rec.value;
    EvalItem it;
    it.line = rec.line;
    it.id = v.contains("id") ? scalar_text(v["id"]) : std::to_string(rec.line);
    CF_CHECK(ids.insert(it.id).second, "{}:{}: duplicate item id '{}'", path, rec.line, it.id);
    const auto where = [&] { return fmt::format("{}:{}: item '{}'", path, rec.line, it.id); };

    // Prompt: "prompt", or the messages before a final assistant turn.
    const nlohmann::json* final_assistant = nullptr;
    if (v.contains("prompt")) {
      CF_CHECK(v["prompt"].is_string(), "{}: 'prompt' must be a string", where());
      it.prompt = v["prompt"].get<std::string>();
    } else if (v.contains("messages")) {
      const auto& msgs = v["messages"];
      CF_CHECK(msgs.is_array() && !msgs.empty(), "{}: 'messages' must be a non-empty array", where());
      size_t end = msgs.size();
      const auto& last = msgs.back();
      if (msgs.size() > 1 && last.is_object() &&
          json_field_or(last, "role", "", fmt::format("{}: messages[{}]", where(), msgs.size() - 1)) == "assistant" &&
          last.contains("content")) {
        final_assistant = &last["content"];
        --end;
      }
      for (size_t i = 0; i < end; ++i) {
        CF_CHECK(msgs[i].is_object() && msgs[i].contains("content") && msgs[i]["content"].is_string(),
                 "{}: messages[{}] needs a string 'content'", where(), i);
        if (!it.prompt.empty()) it.prompt += "\n\n";
        it.prompt += msgs[i]["content"].get<std::string>();
        it.messages.emplace_back(json_field_or(msgs[i], "role", "user", fmt::format("{}: messages[{}]", where(), i)),
                                 msgs[i]["content"].get<std::string>());
      }
    }
    CF_CHECK(!fields.need_prompt || !it.prompt.empty(), "{}: no 'prompt' or 'messages'", where());

    // References.
    const nlohmann::json* ref = nullptr;
    std::string ref_name = fields.reference;
    if (!ref_name.empty()) {
      if (v.contains(ref_name)) ref = &v[ref_name];
    } else {
      for (const char* f : kReferenceFields) {
        if (v.contains(f)) {
          ref = &v[f];
          ref_name = f;
          break;
        }
      }
      if (!ref && final_assistant) {
        ref = final_assistant;
        ref_name = "messages";
      }
    }
    if (ref) {
      if (ref->is_string()) {
        if (!ref->get<std::string>().empty()) it.references.push_back(ref->get<std::string>());
      } else if (ref->is_array()) {
        for (const auto& r : *ref) {
          CF_CHECK(r.is_string(), "{}: '{}' must hold strings", where(), ref_name);
          if (!r.get<std::string>().empty()) it.references.push_back(r.get<std::string>());
        }
      } else {
        fail("{}: '{}' must be a string or an array of strings", where(), ref_name);
      }
    }
    CF_CHECK(!it.references.empty(), "{}: references missing (no non-empty '{}')", where(),
             fields.reference.empty() ? std::string("references") : fields.reference);

    if (v.contains("facts")) {
      const auto& f = v["facts"];
      if (f.is_string()) it.facts.push_back(f.get<std::string>());
      else {
        CF_CHECK(f.is_array(), "{}: 'facts' must be a string or an array of strings", where());
        for (const auto& x : f) {
          CF_CHECK(x.is_string() && !x.get<std::string>().empty(), "{}: 'facts' must hold non-empty strings", where());
          it.facts.push_back(x.get<std::string>());
        }
      }
      CF_CHECK(!it.facts.empty() && !it.facts[0].empty(), "{}: 'facts' is empty", where());
    }

    if (!fields.group.empty()) {
      CF_CHECK(v.contains(fields.group), "{}: group field '{}' missing", where(), fields.group);
      it.group = scalar_text(v[fields.group]);
      CF_CHECK(!it.group.empty(), "{}: group field '{}' is empty", where(), fields.group);
    }
    items.push_back(std::move(it));
  }
  CF_CHECK(!items.empty(), "{}: no items", path);
  return items;
}

}  // namespace chatforge::eval
