// Implementation of preference_data.h.
#include "data/preference_data.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <memory>

#include "core/error.h"
#include "core/file_io.h"
#include "core/json_util.h"
#include "data/chat_record.h"
#include "data/shard.h"

namespace chatforge::data {
namespace {

namespace fs = std::filesystem;

// A string (one turn of `role`) or a list of {"role", "content"} messages.
std::vector<tok::ChatMessage> turns(const nlohmann::json& v, const char* field, const char* role) {
  std::vector<tok::ChatMessage> out;
  if (v.is_string()) {
    CF_CHECK(!v.get<std::string>().empty(), "field '{}' is empty", field);
    out.push_back({role, v.get<std::string>()});
    return out;
  }
  CF_CHECK(v.is_array(), "field '{}' must be a string or a list of messages, got {}", field, json_kind(v));
  for (size_t i = 0; i < v.size(); ++i) {
    const auto& m = v[i];
    CF_CHECK(m.is_object() && m.contains("role") && m["role"].is_string() && m.contains("content") &&
                 m["content"].is_string(),
             "field '{}' message {}: needs string 'role' and 'content'", field, i);
    const std::string r = m["role"].get<std::string>();
    CF_CHECK(tok::is_chat_role(r), "field '{}' message {}: unknown role '{}'", field, i, r);
    out.push_back({r, m["content"].get<std::string>()});
  }
  CF_CHECK(!out.empty(), "field '{}' is an empty list", field);
  return out;
}

bool same(const std::vector<tok::ChatMessage>& a, const std::vector<tok::ChatMessage>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].role != b[i].role || a[i].content != b[i].content) return false;
  return true;
}

// Without a prompt field: the longest common prefix of the two conversations is the prompt.
void split_implicit_prompt(PreferenceRecord& r) {
  size_t k = 0;
  while (k < r.chosen.size() && k < r.rejected.size() && r.chosen[k].role == r.rejected[k].role &&
         r.chosen[k].content == r.rejected[k].content)
    ++k;
  r.prompt.assign(r.chosen.begin(), r.chosen.begin() + static_cast<long>(k));
  r.chosen.erase(r.chosen.begin(), r.chosen.begin() + static_cast<long>(k));
  r.rejected.erase(r.rejected.begin(), r.rejected.begin() + static_cast<long>(k));
}

void check_answer(const std::vector<tok::ChatMessage>& a, const char* field) {
  CF_CHECK(!a.empty(), "field '{}' has no answer after the prompt", field);
  bool any = false;
  for (const auto& m : a) any = any || m.role == "assistant";
  CF_CHECK(any, "field '{}' has no assistant turn", field);
}

uint64_t fnv1a(std::string_view s, uint64_t seed) {
  uint64_t h = 1469598103934665603ULL ^ (seed * 0x9e3779b97f4a7c15ULL);
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

// The chat format of the tokenizer folder: its template, else ChatML (needs the tokens).
std::unique_ptr<tok::ChatFormat> format_for(const tok::Tokenizer& tk, const std::string& dir) {
  const std::string place = is_directory(dir) ? dir : fs::path(dir).parent_path().string();
  auto f = tok::load_chat_format(tk, {place.empty() ? "." : place});
  CF_CHECK(f != nullptr, "--tokenizer {}: no chat format (no chat_template in tokenizer_config.json and no "
                         "<|im_start|>/<|im_end|> tokens)", dir);
  return f;
}

struct Row {
  tok::RenderedChat a, b;
  bool val = false;
};

}  // namespace

PreferenceRecord preference_record_from_json(const nlohmann::json& j) {
  CF_CHECK(j.is_object(), "a record must be a JSON object, got {}", json_kind(j));
  PreferenceRecord r;
  const bool has_prompt = j.contains("prompt");
  if (has_prompt) r.prompt = turns(j["prompt"], "prompt", "user");
  if (j.contains("chosen") || j.contains("rejected")) {
    CF_CHECK(j.contains("chosen"), "missing field 'chosen'");
    CF_CHECK(j.contains("rejected"), "missing field 'rejected'");
    r.chosen = turns(j["chosen"], "chosen", "assistant");
    r.rejected = turns(j["rejected"], "rejected", "assistant");
    if (!has_prompt) split_implicit_prompt(r);
    CF_CHECK(!same(r.chosen, r.rejected), "chosen and rejected are identical");
    check_answer(r.chosen, "chosen");
    check_answer(r.rejected, "rejected");
  } else {
    CF_CHECK(j.contains("completion"), "missing fields: need 'chosen' and 'rejected', or 'completion' and 'label'");
    CF_CHECK(j.contains("label") && j["label"].is_boolean(), "missing or non-boolean field 'label'");
    CF_CHECK(has_prompt, "missing field 'prompt'");
    r.paired = false;
    r.completion = turns(j["completion"], "completion", "assistant");
    r.label = j["label"].get<bool>();
    check_answer(r.completion, "completion");
  }
  CF_CHECK(!r.prompt.empty(), "the prompt is empty");
  return r;
}

tok::RenderedChat render_answer(const tok::ChatFormat& format, const std::vector<tok::ChatMessage>& prompt,
                                const std::vector<tok::ChatMessage>& answer, uint8_t value) {
  std::vector<tok::ChatMessage> all = prompt;
  all.insert(all.end(), answer.begin(), answer.end());
  tok::RenderedChat c = format.render(all);
  // Only the answer is scored: the prompt's tokens (the prompt rendered alone, when it is
  // a prefix of the whole, as for ChatML) or its messages' content lose their mask.
  const tok::RenderedChat p = format.render(prompt);
  const bool prefix = p.ids.size() <= c.ids.size() && std::equal(p.ids.begin(), p.ids.end(), c.ids.begin());
  for (size_t i = 0; i < c.ids.size(); ++i) {
    const bool in_prompt = prefix ? i < p.ids.size()
                                  : (c.message[i] >= 0 && c.message[i] < static_cast<int32_t>(prompt.size()));
    if (in_prompt) c.mask[i] = 0;
    else if (c.mask[i] != 0) c.mask[i] = value;
  }
  return c;
}

PreferenceBuildResult build_preference_dataset(const PreferenceBuildOptions& o) {
  if (o.kind != "dpo" && o.kind != "kto") throw UsageError("--kind must be dpo or kto, got '" + o.kind + "'");
  CF_CHECK(!o.inputs.empty(), "no --input files");
  PreferenceBuildResult res;
  tok::Tokenizer tk = tok::Tokenizer::load(o.tokenizer);
  const std::unique_ptr<tok::ChatFormat> format = format_for(tk, o.tokenizer);
  auto issue = [&](const std::string& file, uint64_t line, const std::string& why) {
    const std::string msg = fmt::format("{}:{}: {}", file, line, why);
    CF_CHECK(!o.strict, "{}", msg);
    ++res.skipped;
    if (res.issues.size() < 20) res.issues.push_back(msg);
  };
  // Examples: (prompt, answer, label/value) for kto; (prompt, chosen, rejected) for dpo.
  struct Ex {
    std::vector<tok::ChatMessage> prompt, a, b;
    bool desirable = true, val = false;
    std::string file;
    uint64_t line = 0;
  };
  std::vector<Ex> ex;
  for (const std::string& file : o.inputs) {
    const std::string text = read_file(file);
    size_t pos = 0;
    uint64_t line = 0;
    while (pos < text.size()) {
      size_t nl = text.find('\n', pos);
      if (nl == std::string::npos) nl = text.size();
      const std::string_view l(text.data() + pos, nl - pos);
      pos = nl + 1;
      ++line;
      if (l.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      ++res.read;
      std::string why;
      const auto j = try_parse_json(l, &why);
      if (!j) {
        issue(file, line, why);
        continue;
      }
      PreferenceRecord r;
      try {
        r = preference_record_from_json(*j);
      } catch (const Error& e) {
        issue(file, line, e.what());
        continue;
      }
      const bool val = o.val_fraction > 0 &&
                       static_cast<double>(fnv1a(l, o.seed) % 1000000) < o.val_fraction * 1000000.0;
      if (o.kind == "dpo") {
        if (!r.paired) {
          issue(file, line, "an unpaired record (completion/label) in --kind dpo data");
          continue;
        }
        ex.push_back({r.prompt, r.chosen, r.rejected, true, val, file, line});
      } else if (r.paired) {
        ex.push_back({r.prompt, r.chosen, {}, true, val, file, line});
        ex.push_back({r.prompt, r.rejected, {}, false, val, file, line});
      } else {
        ex.push_back({r.prompt, r.completion, {}, r.label, val, file, line});
      }
    }
  }
  // Render; the KL document of a kto example is its prompt with the next example's
  // answer (within its split).
  std::vector<size_t> idx[2];
  for (size_t i = 0; i < ex.size(); ++i) idx[ex[i].val ? 1 : 0].push_back(i);
  make_output_dir(o.out);
  const ShardSpec spec = shard_spec_for(tk, true);
  std::vector<ShardSplitSummary> splits;
  for (int s = 0; s < 2; ++s) {
    const char* split = s == 0 ? "train" : "val";
    ShardSetWriter w(o.out, split, spec, 100ull << 20);
    uint64_t rows = 0;
    const auto& ids = idx[s];
    for (size_t k = 0; k < ids.size(); ++k) {
      const Ex& e = ex[ids[k]];
      tok::RenderedChat a, b;
      if (o.kind == "dpo") {
        a = render_answer(*format, e.prompt, e.a);
        b = render_answer(*format, e.prompt, e.b);
      } else {
        a = render_answer(*format, e.prompt, e.a, e.desirable ? 1 : 2);
        b = render_answer(*format, e.prompt, ex[ids[(k + 1) % ids.size()]].a);
      }
      const uint64_t len = a.ids.size() + b.ids.size() + 2;
      if (len > static_cast<uint64_t>(o.max_len)) {
        ++res.too_long;
        issue(e.file, e.line, fmt::format("{} tokens, more than --max-len {}", len, o.max_len));
        continue;
      }
      res.longest_row = std::max(res.longest_row, len);
      w.begin_row(len);
      w.add_document(a.ids.data(), a.ids.size(), a.mask.data(), 0);
      w.add_document(b.ids.data(), b.ids.size(), b.mask.data(), 0);
      w.end_row();
      ++rows;
      if (o.kind == "kto") ++(e.desirable ? res.desirable : res.undesirable);
    }
    ShardSplitSummary sum;
    sum.split = split;
    for (const auto& p : w.finish()) sum.files.push_back(fs::path(p).filename().string());
    sum.n_tokens = w.n_tokens();
    sum.n_docs = w.n_docs();
    sum.n_rows = w.n_rows();
    splits.push_back(sum);
    (s == 0 ? res.train_rows : res.val_rows) = rows;
  }
  CF_CHECK(res.train_rows > 0, "no usable training examples in the input ({} read, {} skipped{})", res.read,
           res.skipped, res.issues.empty() ? std::string() : "; the first: " + res.issues.front());
  write_shard_meta(o.out, spec, splits);
  const nlohmann::json meta = {{"kind", o.kind},
                               {"train_rows", res.train_rows},
                               {"val_rows", res.val_rows},
                               {"longest_row", res.longest_row},
                               {"read", res.read},
                               {"skipped", res.skipped},
                               {"too_long", res.too_long},
                               {"desirable", res.desirable},
                               {"undesirable", res.undesirable},
                               {"max_len", o.max_len}};
  write_file_atomic((fs::path(o.out) / "preference.json").string(), meta.dump(1) + "\n");
  tk.save(o.out);
  const std::string cfg = (fs::path(is_directory(o.tokenizer) ? o.tokenizer : fs::path(o.tokenizer).parent_path().string()) /
                           "tokenizer_config.json").string();
  if (file_exists(cfg)) write_file_atomic((fs::path(o.out) / "tokenizer_config.json").string(), read_file(cfg));
  return res;
}

std::string format_preference_summary(const PreferenceBuildOptions& o, const PreferenceBuildResult& r) {
  std::string s = fmt::format("{} preference data: read {}, train rows {}, val rows {}, skipped {} (too long {})",
                              o.kind, r.read, r.train_rows, r.val_rows, r.skipped, r.too_long);
  if (o.kind == "kto") s += fmt::format(", desirable {}, undesirable {}", r.desirable, r.undesirable);
  s += fmt::format(", longest row {} tokens -> {}\n", r.longest_row, o.out);
  for (const auto& i : r.issues) s += "  skipped " + i + "\n";
  return s;
}

}  // namespace chatforge::data
