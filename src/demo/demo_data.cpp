// The demo's data generator (see demo_data.h). Every choice draws from one seeded Rng, so
// the same seed writes byte-identical files.
#include "demo/demo_data.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "core/error.h"
#include "core/rng.h"
#include "demo/freeform_questions.h"
#include "demo/held_out_guard.h"
#include "demo/reword.h"

namespace chatforge::demo {
namespace {

using nlohmann::json;

template <typename C>
const auto& choose(Rng& rng, const C& c) {
  return c[rng.below(c.size())];
}

bool ascii_lower(char c) { return c >= 'a' && c <= 'z'; }

std::string replace_product(std::string_view core, std::string_view product) {
  std::string s(core);
  for (size_t at = s.find("{p}"); at != std::string::npos; at = s.find("{p}", at + product.size()))
    s.replace(at, 3, product);
  return s;
}

// Each "{slot}" of knowledge_base.h's slot list in `q` replaced by one of its values
// (every occurrence drawn anew); "{p}" and unknown names are left for the caller.
std::string fill_slots(Rng& rng, Lang l, std::string q) {
  for (std::string_view slot : {"amount", "color", "place", "day", "card", "n"}) {
    const std::string mark = fmt::format("{{{}}}", slot);  // (GCC 12's -Wrestrict misfired on "{" + string)
    for (size_t at = q.find(mark); at != std::string::npos; at = q.find(mark, at)) {
      const std::string_view value = choose(rng, slot_values(l, slot));
      q.replace(at, mark.size(), value);
      at += value.size();
    }
  }
  return q;
}

const Intent& intent(std::string_view key) {
  for (const Intent& it : intents())
    if (it.key == key) return it;
  fail("demo knowledge base: no intent '{}'", key);
}

// One chat turn for the messages format.
json turn(const char* role, std::string_view content) { return {{"role", role}, {"content", content}}; }

std::string answer_text(Rng& rng, Lang l, std::string_view answer) {
  return std::string(choose(rng, answer_openers(l))) + std::string(answer);
}

// A question's core, from one of three sources: the intent's own phrasings (half), a
// shared frame around one of its topics ("Could you explain {t}?" + "the return
// policy"), or one of its phrasings after a sentence of context ("I just bought {p}. ").
std::string question_core(Rng& rng, Lang l, const IntentText& t) {
  const double r = rng.uniform();
  if (r < 0.5) return fill_slots(rng, l, std::string(choose(rng, t.questions)));
  if (r < 0.85) {
    std::string frame(choose(rng, question_frames(l)));
    const std::string_view topic = choose(rng, t.topics);
    const size_t at = frame.find("{t}");
    frame.replace(at, 3, topic);
    return frame;
  }
  const std::string_view q = choose(rng, t.questions);
  // The context names the product explicitly (never "it"), so the question may say "it".
  const auto& names = product_names(l);
  const std::string context = replace_product(choose(rng, question_contexts(l)), names[rng.below(6)]);
  return render_question(context, fill_slots(rng, l, std::string(q)), "{p}", "");
}

// How people type: in English a fifth of the questions all lower case without the final
// punctuation ("how long is the warranty"), in Chinese a fifth without the final mark.
std::string casual(Rng& rng, Lang l, std::string q) {
  if (rng.uniform() >= 0.2) return q;
  if (l == Lang::kEn) {
    for (char& c : q)
      if (c >= 'A' && c <= 'Z' && rng.uniform() < 0.9) c = static_cast<char>(c - 'A' + 'a');
    while (!q.empty() && (q.back() == '?' || q.back() == '.' || q.back() == '!')) q.pop_back();
    return q;
  }
  for (std::string_view mark : {"？", "。", "！"})
    if (q.ends_with(mark)) return q.substr(0, q.size() - mark.size());
  return q;
}

// Share of English training questions reworded (reword.h), and the chance of each
// thesaurus phrase in them being swapped.
constexpr double kRewordShare = 0.8, kRewordRate = 0.5;

std::string maybe_reword(Rng& rng, Lang l, std::string q) {
  if (l != Lang::kEn || rng.uniform() >= kRewordShare) return q;
  return reword(rng, l, q, kRewordRate);
}

// Draws training questions from `make` until one contains no held-out or free-form
// question (held_out_guard.h); nearly always the first.
template <typename Make>
std::string unseen_question(Make make) {
  std::string q;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    q = make();
    if (!HeldOutGuard::instance().leaks(q)) return q;
  }
  fail("demo data: 1000 generated questions in a row contain a held-out question (the last: '{}')", q);
}

// Shares of wrapped training questions that start with an everyday remark instead of a
// greeting (near misses of the off-topic requests), and that carry a filler word.
constexpr double kRemarkShare = 0.1, kFillerShare = 0.2;

std::string random_question(Rng& rng, Lang l, const IntentText& t, bool wrapped) {
  return unseen_question([&] {
    std::string core = maybe_reword(rng, l, question_core(rng, l, t));
    const auto& product = choose(rng, product_names(l));
    if (!wrapped) return render_question("", core, product, "");
    if (rng.uniform() < kFillerShare) core = add_filler(rng, l, core);
    const std::string_view prefix =
        rng.uniform() < kRemarkShare ? choose(rng, everyday_remarks(l)) : choose(rng, question_prefixes(l));
    return casual(rng, l, render_question(prefix, core, product, choose(rng, question_suffixes(l))));
  });
}

// A follow-up in a multi-turn chat: a lead-in + a whole question ("Also, how long is the
// warranty?" / "另外，保修多久？") or, as people do, an elliptical one that leans on the
// conversation ("And shipping?" / "那运费呢？").
std::string follow_up_once(Rng& rng, Lang l, const IntentText& t) {
  if (rng.uniform() < 0.4) {
    std::string frame(choose(rng, follow_up_frames(l)));
    const size_t at = frame.find("{f}");
    frame.replace(at, 3, choose(rng, t.follow));
    return casual(rng, l, render_question("", frame, "", ""));
  }
  const auto& lead = choose(rng, follow_up_leads(l));
  return casual(rng, l,
                render_question(lead, maybe_reword(rng, l, question_core(rng, l, t)), choose(rng, product_names(l)), ""));
}

std::string follow_up(Rng& rng, Lang l, const IntentText& t) {
  return unseen_question([&] { return follow_up_once(rng, l, t); });
}

class JsonlOut {
 public:
  void add(const json& j) { text_ += j.dump() + "\n"; }
  void add_raw(std::string_view line) { (text_ += line) += "\n"; }
  void write(const std::string& path) const { write_file_atomic(path, text_); }

 private:
  std::string text_;
};

// --- prose ---------------------------------------------------------------------------

// n distinct intents in random order (a document never repeats a fact: the cleaning
// stage rightly drops documents whose sentences repeat).
std::vector<const Intent*> distinct_intents(Rng& rng, size_t n) {
  std::vector<const Intent*> all;
  for (const Intent& it : intents()) all.push_back(&it);
  for (size_t i = 0; i < n && i < all.size(); ++i) std::swap(all[i], all[i + rng.below(all.size() - i)]);
  all.resize(std::min(n, all.size()));
  return all;
}

std::string manual_doc(Rng& rng, Lang l, bool sensitive) {
  std::string s(choose(rng, manual_headings(l)));
  s += "\n\n";
  if (rng.uniform() < 0.4) (s += company_intro(l)) += "\n\n";
  const auto picked = distinct_intents(rng, 3 + rng.below(5));
  for (size_t i = 0; i < picked.size(); ++i) {
    s += picked[i]->text(l).answer;
    s += (i == picked.size() / 2) ? "\n\n" : (l == Lang::kEn ? " " : "");
  }
  if (sensitive) s += l == Lang::kEn ? " Internal note: Project Falcon ships next year." : "内部备注：猎鹰计划明年发布。";
  return s;
}

std::string faq_doc(Rng& rng, Lang l) {
  std::string s(manual_headings(l)[1]);
  s += "\n\n";
  for (const Intent* it : distinct_intents(rng, 3 + rng.below(4))) {
    const IntentText& t = it->text(l);
    s += l == Lang::kEn ? "Q: " : "问：";
    s += random_question(rng, l, t, false);
    s += l == Lang::kEn ? "\nA: " : "\n答：";
    s += t.answer;
    s += "\n\n";
  }
  return s;
}

std::string review_doc(Rng& rng, Lang l, bool pii) {
  static const std::vector<std::string_view> en = {"Five stars! I use it every morning.",
                                                   "Great machine, my mornings are better now.",
                                                   "Good value for the price, and it looks nice in the kitchen.",
                                                   "Works well, but the manual is a bit short."};
  static const std::vector<std::string_view> zh = {"五星好评！每天早上都在用。", "很好用，早上离不开它。",
                                                   "性价比很高，放在厨房也好看。", "挺好用的，就是说明书有点简单。"};
  static const std::vector<std::string_view> names = {"Alex", "Sam", "Mei", "Li Na", "Jordan", "Wei", "Priya",
                                                      "Tom", "Yuki", "Carlos"};
  const auto& all = intents();
  std::string s(choose(rng, l == Lang::kEn ? en : zh));
  s += l == Lang::kEn ? " " : "";
  s += all[rng.below(all.size())].text(l).answer;
  const uint64_t stars = 3 + rng.below(3);
  s += l == Lang::kEn ? fmt::format(" Rated {}/5 by {}.", stars, choose(rng, names))
                      : fmt::format("{}给了{}星。", choose(rng, names), stars);
  if (pii) {
    const uint64_t n = rng.below(900) + 100;
    s += l == Lang::kEn ? fmt::format(" Questions? Write to me at jamie.lee{}@mail.example or call 415-555-0{}.", n, n)
                        : fmt::format("有问题可以给我打电话13812345{}，或发邮件到wang.fang{}@mail.example。", n, n);
  }
  return s;
}

std::string noise_doc(Rng& rng, Lang l) {
  switch (rng.below(3)) {
    case 0:
      return l == Lang::kEn ? "$$$ BEST DEALS $$$ !!! ### click here ### !!! $$$ %%% @@@ $$$ !!!"
                            : "！！！￥￥￥ 特价 ￥￥￥！！！### 点击 ### ！！！￥￥￥ %%% @@@";
    case 1:
      return l == Lang::kEn ? "ok thanks" : "好的";
    default: {
      std::string line = l == Lang::kEn ? "buy the AeroBrew X2 now" : "快来买AeroBrew X2";
      std::string s;
      for (int i = 0; i < 8; ++i) (s += line) += "\n";
      return s;
    }
  }
}

// --- chats -----------------------------------------------------------------------------

json single_turn(Rng& rng, Lang l) {
  const auto& all = intents();
  const IntentText& t = all[rng.below(all.size())].text(l);
  return {{"messages", {turn("user", random_question(rng, l, t, true)), turn("assistant", answer_text(rng, l, t.answer))}}};
}

// An off-topic request: half from the fixed list, half a frame around a subject.
std::string off_topic_request(Rng& rng, Lang l) {
  if (rng.uniform() < 0.5) return std::string(choose(rng, off_topic_requests(l)));
  std::string frame(choose(rng, off_topic_frames(l)));
  frame.replace(frame.find("{s}"), 3, choose(rng, off_topic_subjects(l)));
  return render_question("", frame, "", "");
}

// A conversation of one to five questions: an optional greeting, a first question, then
// follow-ups (whole or elliptical, each about another intent, now and then an off-topic
// request and its refusal in between), an optional closing. The longer ones reach far
// into the context window, so the positions a several-turn chat uses are trained.
json multi_turn(Rng& rng, Lang l) {
  const auto& all = intents();
  json msgs = json::array();
  if (rng.uniform() < 0.4) {
    msgs.push_back(turn("user", choose(rng, greetings(l))));
    msgs.push_back(turn("assistant", greeting_reply(l)));
  }
  size_t prev = rng.below(all.size());
  msgs.push_back(turn("user", random_question(rng, l, all[prev].text(l), true)));
  msgs.push_back(turn("assistant", answer_text(rng, l, all[prev].text(l).answer)));
  static constexpr double kMoreTurns[] = {0.3, 0.25, 0.2, 0.15, 0.1};  // 1..5 follow-ups
  double r = rng.uniform();
  int follow = 1;
  for (double p : kMoreTurns) {
    if (r < p) break;
    r -= p;
    ++follow;
  }
  for (int i = 0; i < follow; ++i) {
    if (rng.uniform() < 0.08) {
      msgs.push_back(turn("user", off_topic_request(rng, l)));
      msgs.push_back(turn("assistant", refusal(l)));
      continue;
    }
    size_t next = rng.below(all.size() - 1);
    if (next >= prev) ++next;  // another intent than the one just answered
    prev = next;
    const IntentText& t = all[next].text(l);
    msgs.push_back(turn("user", follow_up(rng, l, t)));
    msgs.push_back(turn("assistant", answer_text(rng, l, t.answer)));
  }
  if (rng.uniform() < 0.4) {
    msgs.push_back(turn("user", choose(rng, thanks(l))));
    msgs.push_back(turn("assistant", thanks_reply(l)));
  }
  return {{"messages", msgs}};
}

json off_topic(Rng& rng, Lang l) {
  const std::string q =
      casual(rng, l, render_question(choose(rng, question_prefixes(l)), off_topic_request(rng, l), "", ""));
  return {{"messages", {turn("user", q), turn("assistant", refusal(l))}}};
}

// Records `data chat` must skip and count (with file:line): each kind once per language.
void plant_bad_records(JsonlOut& out, Lang l, DemoDataSummary& sum) {
  const bool en = l == Lang::kEn;
  out.add_raw(en ? R"({"messages": [{"role": "user", "content": "How much does the X2)"
                 : R"({"messages": [{"role": "user", "content": "X2多少钱)");
  out.add({{"messages", {turn("customer", en ? "Hello?" : "你好？"), turn("assistant", greeting_reply(l))}}});
  out.add({{"messages", {turn("user", ""), turn("assistant", greeting_reply(l))}}});
  out.add({{"messages", {turn("user", en ? "Is anyone there?" : "有人吗？")}}});
  sum.planted_bad_records += 4;
}

}  // namespace

std::string render_question(std::string_view prefix, std::string_view core, std::string_view product,
                            std::string_view suffix) {
  std::string q = replace_product(core, product);
  const bool sentence_start = prefix.empty() || prefix.ends_with(". ") || prefix.ends_with("! ") ||
                              prefix.ends_with(": ") || prefix.ends_with("? ");
  if (!q.empty()) {
    if (sentence_start && ascii_lower(q[0])) q[0] = static_cast<char>(q[0] - 'a' + 'A');
    // Inside a sentence ("Hi, How much", "Oh, and What about") the first word goes lower
    // case, unless it is a name or a code: "I", "AeroBrew", "E1", "PayPal", "Nimbus".
    const bool mid_sentence = !sentence_start && !prefix.empty() && (prefix.ends_with(", ") ||
                              (prefix.size() >= 2 && prefix.back() == ' ' && ascii_lower(prefix[prefix.size() - 2])));
    const size_t word_end = std::min(q.find_first_of(" ,.?!'"), q.size());
    const std::string_view word(q.data(), word_end);
    static const std::vector<std::string_view> kNames = {"I", "Nimbus", "Visa", "Mastercard", "Apple", "Android"};
    const bool name = std::find(kNames.begin(), kNames.end(), word) != kNames.end() ||
                      std::any_of(word.begin() + (word.empty() ? 0 : 1), word.end(), [](char c) {
                        return !ascii_lower(c) && c != '-';
                      });
    if (mid_sentence && !word.empty() && q[0] >= 'A' && q[0] <= 'Z' && !name) q[0] = static_cast<char>(q[0] - 'A' + 'a');
  }
  return std::string(prefix) + q + std::string(suffix);
}

std::string describe(const DemoDataSummary& s) {
  return fmt::format("{} prose documents, {} dialogues, {} knowledge Q&A pairs, {} template, {} free-form and {} fresh "
                     "held-out questions, {} off-topic requests",
                     s.prose_docs, s.dialogues, s.kb_qa, s.eval_items, s.freeform_items, s.fresh_items, s.refusal_items);
}

DemoDataSummary write_demo_data(const std::string& dir, const DemoDataOptions& opt) {
  DemoDataSummary sum;
  Rng rng(opt.seed);
  for (const char* sub : {"raw", "chat", "eval"}) make_dirs(dir + "/" + sub);

  // Prose for pretraining, with planted work for `data clean`.
  JsonlOut docs;
  std::vector<json> kept;  // earlier documents, for exact and near duplicates
  for (Lang l : opt.langs) {
    for (int i = 0; i < opt.prose_docs_per_lang; ++i) {
      const double r = rng.uniform();
      json d;
      if (r < 0.42) {
        const bool sensitive = rng.uniform() < 0.04;
        d = {{"text", manual_doc(rng, l, sensitive)}, {"source", "manual"}};
        sum.planted_sensitive += sensitive;
      } else if (r < 0.80) {
        d = {{"text", faq_doc(rng, l)}, {"source", "faq"}};
      } else if (r < 0.92) {
        const bool pii = rng.uniform() < 0.35;
        d = {{"text", review_doc(rng, l, pii)}, {"source", "reviews"}};
        sum.planted_pii += pii;
      } else {
        d = {{"text", noise_doc(rng, l)}, {"source", "forum"}};
        ++sum.planted_noise_docs;
      }
      docs.add(d);
      ++sum.prose_docs;
      kept.push_back(d);
      if (rng.uniform() < 0.05 && kept.size() > 10) {  // exact duplicate of an earlier document
        docs.add(kept[rng.below(kept.size())]);
        ++sum.prose_docs;
        ++sum.planted_noise_docs;
      }
    }
  }
  docs.add_raw(R"({"text": "a truncated line, as from a crashed export)");
  ++sum.planted_noise_docs;
  docs.write(dir + "/raw/docs.jsonl");
  write_file_atomic(dir + "/raw/sensitive_words.txt", "Project Falcon\n猎鹰计划\n");

  // Fine-tuning data: dialogues (messages) and knowledge Q&A (Alpaca).
  JsonlOut dialogues, kb;
  for (Lang l : opt.langs) {
    plant_bad_records(dialogues, l, sum);
    const int total = opt.single_turn_per_lang + opt.multi_turn_per_lang + opt.off_topic_per_lang;
    for (int i = 0; i < total; ++i) {
      if (i < opt.single_turn_per_lang) dialogues.add(single_turn(rng, l));
      else if (i < opt.single_turn_per_lang + opt.multi_turn_per_lang) dialogues.add(multi_turn(rng, l));
      else dialogues.add(off_topic(rng, l));
      ++sum.dialogues;
    }
    const std::string_view canonical = product_names(l)[0];
    for (const Intent& it : intents()) {
      for (const auto& core : it.text(l).questions) {
        const std::string q =
            unseen_question([&] { return render_question("", fill_slots(rng, l, std::string(core)), canonical, ""); });
        kb.add({{"instruction", q}, {"input", ""},
                {"output", it.text(l).answer}});
        ++sum.kb_qa;
      }
    }
  }
  dialogues.write(dir + "/chat/dialogues.jsonl");
  kb.write(dir + "/chat/kb_qa.jsonl");
  const std::string sys(system_prompt());
  write_file_atomic(dir + "/chat/mixture.yaml",
                    fmt::format("# The demo's fine-tuning mixture: multi-turn dialogues and knowledge Q&A, 3:1.\n"
                                "- task: dialogue\n  path: dialogues.jsonl\n  weight: 3\n  system: \"{}\"\n"
                                "- task: kb_qa\n  path: kb_qa.jsonl\n  weight: 1\n  system: \"{}\"\n",
                                sys, sys));

  // Held-out evaluation: phrasings no training file contains, inside random wrappers.
  // The evaluation files draw from their own generator, so a change to the training data
  // leaves them as they were.
  Rng eval_rng(opt.seed ^ 0x9e3779b97f4a7c15ULL);
  JsonlOut heldout, freeform, fresh, refusals;
  auto facts_of = [](const IntentText& t) {
    json facts = json::array();
    for (const auto& f : t.facts) facts.push_back(f);
    return facts;
  };
  for (Lang l : opt.langs) {
    for (const Intent& it : intents()) {
      const IntentText& t = it.text(l);
      for (size_t h = 0; h < t.heldout.size(); ++h) {
        for (int w = 0; w < opt.heldout_wrappers; ++w) {
          const std::string q = render_question(choose(eval_rng, question_prefixes(l)), t.heldout[h],
                                                choose(eval_rng, product_names(l)), choose(eval_rng, question_suffixes(l)));
          heldout.add({{"id", fmt::format("{}-{}-{}-{}", lang_code(l), it.key, h, w)},
                       {"messages", {turn("system", sys), turn("user", q)}},
                       {"answer", t.answer},
                       {"facts", facts_of(t)},
                       {"lang", lang_code(l)},
                       {"topic", it.topic}});
          ++sum.eval_items;
        }
      }
    }
    // The free-form and fresh questions, as written (see freeform_questions.h).
    const auto add_written = [&](const std::vector<FreeformQuestion>& questions, const char* tag, JsonlOut& out) {
      std::map<std::string_view, int> per_key;
      uint64_t n = 0;
      for (const FreeformQuestion& f : questions) {
        if (f.lang != l) continue;
        const Intent& it = intent(f.key);
        json msgs = json::array({turn("system", sys)});  // not = {...}: clang reads one element as a copy
        if (!f.prior_key.empty()) {
          msgs.push_back(turn("user", f.prior_question));
          msgs.push_back(turn("assistant", intent(f.prior_key).text(l).answer));
        }
        msgs.push_back(turn("user", f.question));
        out.add({{"id", fmt::format("{}-{}-{}-{}", lang_code(l), it.key, tag, per_key[f.key]++)},
                 {"messages", msgs},
                 {"answer", it.text(l).answer},
                 {"facts", facts_of(it.text(l))},
                 {"lang", lang_code(l)},
                 {"topic", it.topic},
                 {"follow_up", !f.prior_key.empty()}});
        ++n;
      }
      return n;
    };
    sum.freeform_items += add_written(freeform_questions(), "free", freeform);
    sum.fresh_items += add_written(fresh_questions(), "fresh", fresh);
    int k = 0;
    for (const auto& req : off_topic_heldout(l)) {
      refusals.add({{"id", fmt::format("{}-refusal-{}", lang_code(l), k++)},
                    {"messages", {turn("system", sys), turn("user", req)}},
                    {"answer", refusal(l)},
                    {"facts", {refusal_fact(l)}},
                    {"lang", lang_code(l)}});
      ++sum.refusal_items;
    }
  }
  heldout.write(dir + "/eval/heldout.jsonl");
  freeform.write(dir + "/eval/freeform.jsonl");
  fresh.write(dir + "/eval/fresh.jsonl");
  refusals.write(dir + "/eval/refusals.jsonl");
  return sum;
}

}  // namespace chatforge::demo
