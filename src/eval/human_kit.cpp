// Blinded side-by-side human evaluation kit and its scoring (see human_kit.h).
#include "eval/human_kit.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>

#include "core/error.h"
#include "core/file_io.h"
#include "core/json_util.h"
#include "core/rng.h"
#include "eval/agreement.h"
#include "eval/report_html.h"

namespace chatforge::eval {
namespace {

std::string id_of(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  return v.dump();
}

std::string prompt_of(const JsonlRecord& r, const std::string& path) {
  const auto& v = r.value;
  if (v.contains("prompt")) {
    CF_CHECK(v["prompt"].is_string(), "{}:{}: field 'prompt' must be a string", path, r.line);
    return v["prompt"].get<std::string>();
  }
  if (v.contains("messages")) {
    const auto& msgs = v["messages"];
    CF_CHECK(msgs.is_array() && !msgs.empty(), "{}:{}: field 'messages' must be a non-empty array", path, r.line);
    size_t end = msgs.size();
    // A final assistant turn is the reference answer, not part of the prompt.
    if (end > 1 && msgs.back().is_object() &&
        json_field_or(msgs.back(), "role", "", fmt::format("{}:{}: messages[{}]", path, r.line, end - 1)) ==
            "assistant")
      --end;
    std::string out;
    for (size_t i = 0; i < end; ++i) {
      const auto& m = msgs[i];
      CF_CHECK(m.is_object() && m.contains("content") && m["content"].is_string(),
               "{}:{}: messages[{}] needs a string 'content'", path, r.line, i);
      if (!out.empty()) out += "\n\n";
      if (end > 1) out += json_field_or(m, "role", "user", fmt::format("{}:{}: messages[{}]", path, r.line, i)) + ": ";
      out += m["content"].get<std::string>();
    }
    return out;
  }
  fail("{}:{}: no 'prompt' or 'messages' field", path, r.line);
}

std::string answer_of(const JsonlRecord& r, const std::string& path) {
  for (const char* field : {"answer", "output", "response", "completion", "text"}) {
    if (r.value.contains(field)) {
      CF_CHECK(r.value[field].is_string(), "{}:{}: field '{}' must be a string", path, r.line, field);
      return r.value[field].get<std::string>();
    }
  }
  fail("{}:{}: no answer field (expected one of answer, output, response, completion, text)", path, r.line);
}

std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  const size_t dot = name.find_last_of('.');
  if (dot != std::string::npos && dot > 0) name.resize(dot);
  return name;
}

std::string lower_trim(std::string s) {
  const size_t b = s.find_first_not_of(" \t");
  const size_t e = s.find_last_not_of(" \t");
  s = b == std::string::npos ? std::string() : s.substr(b, e - b + 1);
  for (char& c : s) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
  return s;
}

constexpr const char* kSheetScript = R"JS(
function csvField(s) { return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s; }
function downloadRatings() {
  const rater = document.getElementById('rater').value.trim();
  if (!rater) { alert('Please enter your name or rater id first.'); return; }
  let csv = 'rater,item_id,preference\r\n', done = 0;
  document.querySelectorAll('section.item').forEach(sec => {
    const picked = sec.querySelector('input[type=radio]:checked');
    if (picked) { csv += [rater, sec.dataset.id, picked.value].map(csvField).join(',') + '\r\n'; done++; }
  });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([csv], {type: 'text/csv'}));
  a.download = 'ratings-' + rater.replace(/[^A-Za-z0-9_-]/g, '_') + '.csv';
  a.click();
  document.getElementById('status').textContent = done + ' ratings saved';
}
)JS";

std::string sheet_html(const std::vector<const KitItem*>& order, const std::vector<bool>& a_first,
                       const KitOptions& opt) {
  std::string body;
  for (size_t i = 0; i < order.size(); ++i) {
    const KitItem& it = *order[i];
    const std::string& first = a_first[i] ? it.answer_a : it.answer_b;
    const std::string& second = a_first[i] ? it.answer_b : it.answer_a;
    const std::string id = html_escape(it.id);
    body += fmt::format(
        R"(<section class="item" data-id="{0}"><h2>{1}. <small>item {0}</small></h2>
<div class="prompt">{2}</div>
<div class="pair"><div class="answer"><h3>Answer 1</h3><div class="text">{3}</div></div>
<div class="answer"><h3>Answer 2</h3><div class="text">{4}</div></div></div>
<fieldset><legend>Which answer is better?</legend>
<label><input type="radio" name="q{1}" value="1"> Answer 1</label>
<label><input type="radio" name="q{1}" value="tie"> About the same</label>
<label><input type="radio" name="q{1}" value="2"> Answer 2</label></fieldset></section>
)",
        id, i + 1, html_escape(it.prompt), html_escape(first), html_escape(second));
  }
  return fmt::format(R"HTML(<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{0}</title>
<style>
body {{ font-family: sans-serif; max-width: 1100px; margin: 1.5em auto; color: #222; }}
.prompt {{ white-space: pre-wrap; background: #f4f4f4; padding: .6em; border-radius: 4px; }}
.pair {{ display: grid; grid-template-columns: 1fr 1fr; gap: 1em; margin: .6em 0; }}
.answer {{ border: 1px solid #ccc; border-radius: 4px; padding: .4em .8em; }}
.answer h3 {{ margin: .2em 0; font-size: 1em; color: #555; }}
.text {{ white-space: pre-wrap; }}
section.item {{ border-bottom: 2px solid #ddd; padding-bottom: 1em; margin-bottom: 1em; break-inside: avoid; }}
fieldset {{ border: none; padding: 0; }} label {{ margin-right: 1.5em; }}
@media print {{ .controls {{ display: none; }} }}
</style></head><body>
<h1>{0}</h1>
<p>Each item shows a prompt and two answers in random order. Pick the better answer, or
"about the same". Judge helpfulness, correctness and clarity; ignore length on its own.
When done, enter your name and download your ratings (a CSV file) and send it back.
On paper: print this page and circle a choice per item.</p>
<div class="controls"><label>Rater: <input id="rater" type="text"></label>
<button type="button" onclick="downloadRatings()">Download ratings CSV</button> <span id="status"></span></div>
{1}
<div class="controls"><button type="button" onclick="downloadRatings()">Download ratings CSV</button></div>
<script>{2}</script>
</body></html>
)HTML",
                     html_escape(opt.title), body, kSheetScript);
}

}  // namespace

std::vector<KitItem> load_kit_items(const std::string& data_path, const std::string& answers_a_path,
                                    const std::string& answers_b_path) {
  const auto data = read_jsonl(data_path);
  const auto ans_a = read_jsonl(answers_a_path);
  const auto ans_b = read_jsonl(answers_b_path);
  CF_CHECK(!data.empty(), "{}: no records", data_path);
  CF_CHECK(ans_a.size() == data.size(), "{} has {} records but {} has {}", answers_a_path, ans_a.size(), data_path,
           data.size());
  CF_CHECK(ans_b.size() == data.size(), "{} has {} records but {} has {}", answers_b_path, ans_b.size(), data_path,
           data.size());
  std::vector<KitItem> items;
  std::set<std::string> seen;
  for (size_t i = 0; i < data.size(); ++i) {
    KitItem it;
    it.id = data[i].value.contains("id") ? id_of(data[i].value["id"]) : std::to_string(i + 1);
    CF_CHECK(!it.id.empty(), "{}:{}: empty id", data_path, data[i].line);
    CF_CHECK(seen.insert(it.id).second, "{}:{}: duplicate id '{}'", data_path, data[i].line, it.id);
    it.prompt = prompt_of(data[i], data_path);
    for (const auto* side : {&ans_a, &ans_b}) {
      const JsonlRecord& r = (*side)[i];
      const std::string& path = side == &ans_a ? answers_a_path : answers_b_path;
      if (r.value.contains("id")) {
        CF_CHECK(id_of(r.value["id"]) == it.id, "{}:{}: id '{}' does not match '{}' at {}:{}", path, r.line,
                 id_of(r.value["id"]), it.id, data_path, data[i].line);
      }
      (side == &ans_a ? it.answer_a : it.answer_b) = answer_of(r, path);
    }
    items.push_back(std::move(it));
  }
  return items;
}

KitKey write_human_kit(const std::vector<KitItem>& items, const std::string& dir, const KitOptions& opt) {
  CF_CHECK(!items.empty(), "human kit: no items");
  make_output_dir(dir);
  Rng rng(opt.seed);
  std::vector<const KitItem*> order;
  for (const auto& it : items) order.push_back(&it);
  for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[rng.below(i)]);  // Fisher-Yates
  std::vector<bool> a_first(order.size());
  for (size_t i = 0; i < order.size(); ++i) a_first[i] = rng.below(2) == 0;

  KitKey key;
  key.name_a = opt.name_a;
  key.name_b = opt.name_b;
  key.seed = opt.seed;
  std::string csv = csv_row({"item_id", "prompt", "answer_1", "answer_2", "preference"});
  nlohmann::json jitems = nlohmann::json::array();
  for (size_t i = 0; i < order.size(); ++i) {
    const KitItem& it = *order[i];
    key.items.push_back({it.id, a_first[i]});
    csv += csv_row({it.id, it.prompt, a_first[i] ? it.answer_a : it.answer_b, a_first[i] ? it.answer_b : it.answer_a, ""});
    jitems.push_back({{"item_id", it.id}, {"answer_1", a_first[i] ? "A" : "B"}, {"answer_2", a_first[i] ? "B" : "A"}});
  }
  const nlohmann::json jkey = {{"format", "chatforge-human-kit-key/1"},
                               {"model_a", opt.name_a},
                               {"model_b", opt.name_b},
                               {"seed", opt.seed},
                               {"items", jitems}};
  write_file_atomic(dir + "/sheet.html", sheet_html(order, a_first, opt));
  write_file_atomic(dir + "/sheet.csv", csv);
  write_file_atomic(dir + "/key.json", jkey.dump(2) + "\n");
  return key;
}

KitKey read_kit_key(const std::string& dir) {
  const std::string path = dir + "/key.json";
  CF_CHECK(file_exists(path), "{}: no such file (is {} a kit written by `chatforge eval human-kit`?)", path, dir);
  const nlohmann::json j = parse_json(read_file(path), path);
  CF_CHECK(j.is_object() && j.contains("items") && j["items"].is_array(), "{}: missing 'items' array", path);
  KitKey key;
  key.name_a = json_field_or(j, "model_a", "A", path);
  key.name_b = json_field_or(j, "model_b", "B", path);
  key.seed = json_field_or(j, "seed", uint64_t{0}, path);
  for (size_t i = 0; i < j["items"].size(); ++i) {
    const auto& e = j["items"][i];
    CF_CHECK(e.is_object() && e.contains("item_id") && e.contains("answer_1"), "{}: items[{}] needs item_id and answer_1",
             path, i);
    const std::string first = json_get<std::string>(e["answer_1"], path, fmt::format("items[{}].answer_1", i));
    CF_CHECK(first == "A" || first == "B", "{}: items[{}].answer_1 must be \"A\" or \"B\"", path, i);
    key.items.push_back({id_of(e["item_id"]), first == "A"});
  }
  return key;
}

HumanScore score_human_ratings(const KitKey& key, const std::vector<std::string>& rating_files,
                               const BootstrapOptions& opt) {
  CF_CHECK(!rating_files.empty(), "no ratings files given");
  std::unordered_map<std::string, size_t> item_index;
  for (size_t i = 0; i < key.items.size(); ++i) item_index[key.items[i].id] = i;

  HumanScore out;
  out.name_a = key.name_a;
  out.name_b = key.name_b;
  out.items_in_kit = key.items.size();
  // outcome per rating from A's side: 0 = A wins, 1 = tie, 2 = B wins
  struct Rating {
    size_t item;
    size_t rater;
    int outcome;
  };
  std::vector<Rating> ratings;
  std::map<std::string, size_t> rater_index;
  std::set<std::pair<size_t, size_t>> seen;
  for (const auto& file : rating_files) {
    CF_CHECK(file_exists(file), "{}: no such file", file);
    const CsvTable t = parse_csv(read_file(file), file);
    const size_t c_item = t.column("item_id", file);
    const size_t c_pref = t.column("preference", file);
    std::optional<size_t> c_rater;
    for (size_t c = 0; c < t.header.size(); ++c) {
      if (t.header[c] == "rater") c_rater = c;
    }
    for (size_t r = 0; r < t.rows.size(); ++r) {
      const auto& row = t.rows[r];
      const size_t line = t.row_line[r];
      const std::string pref = lower_trim(row[c_pref]);
      if (pref.empty()) {
        ++out.blank_skipped;
        continue;
      }
      auto it = item_index.find(row[c_item]);
      CF_CHECK(it != item_index.end(), "{}:{}: item_id '{}' is not in the kit", file, line, row[c_item]);
      int shown;  // 0: answer 1, 1: tie, 2: answer 2
      if (pref == "1") {
        shown = 0;
      } else if (pref == "tie") {
        shown = 1;
      } else if (pref == "2") {
        shown = 2;
      } else {
        fail("{}:{}: preference '{}' for item '{}' must be 1, 2 or tie", file, line, row[c_pref], row[c_item]);
      }
      std::string rater = c_rater ? row[*c_rater] : std::string();
      if (rater.empty()) rater = base_name(file);
      const size_t rid = rater_index.emplace(rater, rater_index.size()).first->second;
      CF_CHECK(seen.emplace(rid, it->second).second, "{}:{}: rater '{}' rated item '{}' twice", file, line, rater,
               row[c_item]);
      // Unblind: answer 1 is A when a_first.
      const bool a_first = key.items[it->second].a_first;
      const int outcome = shown == 1 ? 1 : ((shown == 0) == a_first ? 0 : 2);
      ratings.push_back({it->second, rid, outcome});
    }
  }
  CF_CHECK(!ratings.empty(), "no ratings found in {} file(s) (all preferences blank?)", rating_files.size());
  out.raters.resize(rater_index.size());
  for (const auto& [name, id] : rater_index) out.raters[id] = name;
  out.ratings = ratings.size();

  // Ratings grouped by item: items are the resampling unit (ratings of one item correlate).
  std::vector<std::vector<int>> by_item(key.items.size());
  for (const auto& r : ratings) by_item[r.item].push_back(r.outcome);
  std::vector<size_t> rated;
  for (size_t i = 0; i < by_item.size(); ++i) {
    if (!by_item[i].empty()) rated.push_back(i);
  }
  out.items_rated = rated.size();
  for (const auto& r : ratings) {
    out.a_wins += r.outcome == 0;
    out.ties += r.outcome == 1;
    out.b_wins += r.outcome == 2;
  }
  auto rate_of = [&](int outcome) {
    return [&, outcome](std::span<const size_t> items) {
      double hit = 0, all = 0;
      for (size_t i : items) {
        for (int o : by_item[i]) {
          hit += o == outcome;
          all += 1;
        }
      }
      return all > 0 ? hit / all : 0.0;
    };
  };
  const double n = static_cast<double>(ratings.size());
  out.a_win = {static_cast<double>(out.a_wins) / n, bootstrap_ci(rated, rate_of(0), opt)};
  out.tie = {static_cast<double>(out.ties) / n, bootstrap_ci(rated, rate_of(1), opt)};
  out.b_win = {static_cast<double>(out.b_wins) / n, bootstrap_ci(rated, rate_of(2), opt)};

  // Agreement over the three outcomes.
  out.krippendorff_alpha = krippendorff_alpha_nominal(by_item, 3);
  std::vector<std::vector<int>> counts;
  std::optional<size_t> per_item;
  bool equal = true;
  for (size_t i : rated) {
    std::vector<int> c(3, 0);
    for (int o : by_item[i]) ++c[o];
    if (!per_item) per_item = by_item[i].size();
    equal &= by_item[i].size() == *per_item;
    counts.push_back(std::move(c));
  }
  if (equal && per_item && *per_item >= 2) out.fleiss_kappa = fleiss_kappa(counts);
  if (out.raters.size() == 2) {
    std::map<size_t, std::pair<int, int>> both;
    std::map<size_t, int> mask;
    for (const auto& r : ratings) {
      auto& p = both[r.item];
      (r.rater == 0 ? p.first : p.second) = r.outcome;
      mask[r.item] |= 1 << r.rater;
    }
    std::vector<std::pair<int, int>> pairs;
    for (const auto& [item, m] : mask) {
      if (m == 3) pairs.push_back(both[item]);
    }
    out.cohen_kappa = cohen_kappa(pairs, 3);
  }
  return out;
}

}  // namespace chatforge::eval
