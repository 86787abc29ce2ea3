// `chatforge metrics bleu|rouge|qa`: score existing hypothesis files against reference
// files (one segment per line, references aligned line by line), like the `sacrebleu`
// command. Optional per-group breakdown (--groups FILE, one label per line) with the
// largest gap and bootstrap intervals, JSON output and an HTML report.
#include <fmt/format.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/common_flags.h"
#include "cli/option_checks.h"
#include "core/error.h"
#include "core/file_io.h"
#include "core/progress.h"
#include "eval/corpus_metrics.h"
#include "eval/counterfactual.h"
#include "eval/eval_items.h"
#include "eval/porter_stemmer.h"
#include "eval/text_util.h"
#include "eval/text_files.h"

namespace chatforge::cli {
namespace {

using namespace chatforge::eval;

struct CommonArgs {
  std::string hyp;
  std::vector<std::string> refs;
  std::string data, reference_field, group_field;
  std::string groups_file;
  std::vector<std::string> expect_groups;
  bool json = false;
  std::string html;
  int bootstrap = 1000;
  uint64_t seed = 1234;
};

void add_common(CLI::App* sub, CommonArgs& a) {
  sub->add_option("--hyp", a.hyp, "hypotheses, one segment per line")->type_name(kFile)->required();
  auto* ref = sub->add_option("--ref", a.refs,
                              "reference file(s), aligned with --hyp; repeat for more references (this or --data; "
                              "default: none)")
                  ->type_name(kFile);
  auto* data = sub->add_option("--data", a.data,
                               "JSONL items aligned with --hyp, holding the references (this or --ref; default: none)")
                   ->type_name(kFile);
  ref->excludes(data);
  sub->add_option("--reference-field", a.reference_field,
                  "--data: field with the reference(s) (default: references, reference, answers, answer, target, "
                  "output, or the final assistant turn of messages)");
  sub->add_option("--group-field", a.group_field,
                  "--data: field with each item's group: report every metric per group (default: none)");
  sub->add_option("--groups", a.groups_file,
                  "group label per line (aligned with --hyp): report every metric per group (default: none)")
      ->type_name(kFile);
  sub->add_option("--expect-groups", a.expect_groups, "groups that must be present (comma-separated; default: none)")
      ->delimiter(',');
  sub->add_flag("--json", a.json, "print results as JSON");
  sub->add_option("--html", a.html,
                  "also write an HTML report (tables, per-group bar charts) to this file (default: none)")
      ->type_name(kFile);
  sub->add_option("--bootstrap", a.bootstrap, "bootstrap resamples for the 95% intervals")->capture_default_str();
  sub->add_option("--bootstrap-seed,--seed", a.seed, "seed of the bootstrap resampling")->capture_default_str();
  set_ranges(*sub, {{"--bootstrap", kBootstrapRange}, {"--bootstrap-seed", kSeedRange}});
  add_config_option(*sub);
}

struct Inputs {
  std::vector<std::string> hyps;
  std::vector<std::vector<std::string>> refs;  // per item, non-empty references
  std::vector<std::string> groups;             // per item, or empty
};

Inputs load_inputs(const CommonArgs& a, const std::function<std::string(std::string)>& transform = nullptr) {
  Inputs in;
  in.hyps = read_lines(a.hyp);
  if (a.refs.empty() && a.data.empty()) usage_fail("give the references with --ref FILE or --data FILE.jsonl");
  if (!a.group_field.empty() && a.data.empty()) usage_fail("--group-field needs --data");
  if (!a.group_field.empty() && !a.groups_file.empty()) usage_fail("use --group-field or --groups, not both");
  if (!a.data.empty()) {
    EvalItemFields f;
    f.reference = a.reference_field;
    f.group = a.group_field;
    const auto items = load_eval_items(a.data, f);
    CF_CHECK(items.size() == in.hyps.size(), "line count mismatch: {} has {} lines but {} has {} items", a.hyp,
             in.hyps.size(), a.data, items.size());
    for (const auto& it : items) {
      in.refs.push_back({});
      for (const auto& r : it.references) in.refs.back().push_back(transform ? transform(r) : r);
      if (!a.group_field.empty()) in.groups.push_back(it.group);
    }
    if (transform) {
      for (auto& h : in.hyps) h = transform(h);
    }
    if (!a.expect_groups.empty() && in.groups.empty()) usage_fail("--expect-groups needs --groups or --group-field");
    return in;
  }
  std::vector<std::vector<std::string>> streams;
  for (const auto& r : a.refs) {
    streams.push_back(read_lines(r));
    CF_CHECK(streams.back().size() == in.hyps.size(), "line count mismatch: {} has {} lines but {} has {}", a.hyp,
             in.hyps.size(), r, streams.back().size());
  }
  CF_CHECK(!in.hyps.empty(), "{}: no segments", a.hyp);
  in.refs.resize(in.hyps.size());
  for (size_t i = 0; i < in.hyps.size(); ++i) {
    for (const auto& s : streams) {
      if (!s[i].empty()) in.refs[i].push_back(transform ? transform(s[i]) : s[i]);
    }
    if (in.refs[i].empty()) {
      fail("item {}: reference missing (line {} is empty in {})", i + 1, i + 1,
           a.refs.size() == 1 ? a.refs[0] : fmt::format("all of {}", fmt::join(a.refs, ", ")));
    }
    if (transform) in.hyps[i] = transform(in.hyps[i]);
  }
  if (!a.groups_file.empty()) {
    in.groups = read_lines(a.groups_file);
    CF_CHECK(in.groups.size() == in.hyps.size(), "line count mismatch: {} has {} lines but {} has {}", a.hyp,
             in.hyps.size(), a.groups_file, in.groups.size());
    for (size_t i = 0; i < in.groups.size(); ++i) {
      CF_CHECK(!in.groups[i].empty(), "{}:{}: item {} has an empty group label", a.groups_file, i + 1, i + 1);
    }
  } else {
    if (!a.expect_groups.empty()) usage_fail("--expect-groups needs --groups");
  }
  return in;
}

// Computes intervals and groups, prints text or JSON, writes the HTML report.
void finish(const CommonArgs& a, const Inputs& in, const std::string& title, std::vector<CorpusMetric> metrics,
            nlohmann::json details, const std::string& text_header, const std::vector<std::string>& notes) {
  BootstrapOptions bo;
  bo.resamples = a.bootstrap;
  bo.seed = a.seed;
  Groups g;
  if (!in.groups.empty()) {
    try {
      g = group_items(in.groups, a.expect_groups);
    } catch (const Error& e) {
      fail("{}: {}", a.groups_file.empty() ? a.data : a.groups_file, e.what());
    }
  }
  // Bootstrapping big corpora takes a while: show progress per metric when it will.
  const bool long_work = static_cast<double>(in.hyps.size()) * a.bootstrap * metrics.size() * (g.names.empty() ? 1 : 3) > 3e8;
  ProgressBar bar("bootstrap", metrics.size(), "metrics", long_work);
  std::vector<GroupMetric> groups;
  for (auto& m : metrics) {
    std::vector<CorpusMetric> one{m};
    add_confidence_intervals(one, in.hyps.size(), bo);
    m.ci = one[0].ci;
    if (!g.names.empty()) groups.push_back(group_metrics(one, g, bo)[0]);
    bar.advance(1, m.name);
  }
  if (long_work) bar.finish();
  if (a.json) {
    nlohmann::json j = details;
    j["items"] = in.hyps.size();
    j["metrics"] = metrics_json(metrics);
    if (!groups.empty()) j["per_group"] = groups_json(groups);
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    if (!text_header.empty()) std::printf("%s\n", text_header.c_str());
    for (const auto& m : metrics) {
      std::printf("%-12s %8.2f  95%% CI [%.2f, %.2f]\n", m.name.c_str(), m.value, m.ci.lo, m.ci.hi);
    }
    for (const auto& g : groups) {
      std::printf("\n%s by group:\n", g.metric.c_str());
      for (const auto& v : g.groups) {
        std::printf("  %-16s n=%-6zu %8.2f  95%% CI [%.2f, %.2f]\n", v.group.c_str(), v.count, v.value, v.ci.lo, v.ci.hi);
      }
      if (g.groups.size() >= 2) {
        std::printf("  largest gap %s - %s = %.2f  95%% CI [%.2f, %.2f]%s\n", g.gap.high_group.c_str(),
                    g.gap.low_group.c_str(), g.gap.gap, g.gap.ci.lo, g.gap.ci.hi,
                    g.gap.too_few_items ? "  (too few items to judge)" : (g.gap.significant() ? "  (significant)" : ""));
      }
    }
  }
  if (!a.html.empty()) write_file_atomic(a.html, metrics_report_html(title, notes, metrics, groups));
}

void setup_bleu(CLI::App& cmd) {
  auto args = std::make_shared<CommonArgs>();
  auto tok = std::make_shared<std::string>("13a");
  auto smooth = std::make_shared<std::string>("exp");
  auto smooth_value = std::make_shared<double>(-1);
  auto lowercase = std::make_shared<bool>(false);
  auto sentence = std::make_shared<bool>(false);
  auto width = std::make_shared<int>(1);
  CLI::App* sub = cmd.add_subcommand("bleu", "corpus BLEU exactly as sacreBLEU computes it");
  add_common(sub, *args);
  sub->add_option("--tokenize,-t", *tok, "13a (default), zh (Chinese), char or none (pre-tokenised)")
      ->capture_default_str();
  sub->add_flag("--lowercase,--lc", *lowercase, "case-insensitive BLEU");
  sub->add_option("--smooth-method,-s", *smooth, "exp (default), floor, add-k or none")->capture_default_str();
  sub->add_option("--smooth-value", *smooth_value, "value for floor or add-k (default: 0.1 for floor, 1 for add-k)");
  sub->add_flag("--sentence", *sentence, "print sentence BLEU of every line (effective order, as sacreBLEU)");
  sub->add_option("--width,-w", *width, "decimals of the printed score")->capture_default_str();
  set_ranges(*sub, {{"--smooth-value", "[0, inf)"}, {"--width", "[0, 10]"}});
  sub->callback([=] {
    BleuOptions o;
    o.tokenizer = parse_bleu_tokenizer(*tok);
    o.smooth = parse_bleu_smooth(*smooth);
    o.lowercase = *lowercase;
    if (*smooth_value >= 0) o.smooth_value = *smooth_value;
    const Inputs in = load_inputs(*args);
    if (*sentence) {
      BleuScorer scorer(o);
      for (size_t i = 0; i < in.hyps.size(); ++i) {
        std::printf("%.*f\n", *width, scorer.sentence_score(in.hyps[i], in.refs[i]).score);
      }
      return;
    }
    nlohmann::json details;
    BleuScore total;
    auto metrics = bleu_metrics(in.hyps, in.refs, o, details, &total);
    const std::string verbose = total.format(*width);
    // "BLEU|nrefs:1|...|version:2.4.3 = 34.1 65.6/..." like `sacrebleu -f text`.
    const std::string line = "BLEU|" + details["bleu"]["signature"].get<std::string>() + verbose.substr(4);
    finish(*args, in, "BLEU report", std::move(metrics), details, line, {line});
  });
}

void setup_rouge(CLI::App& cmd) {
  auto args = std::make_shared<CommonArgs>();
  auto stem = std::make_shared<bool>(false);
  auto no_cjk = std::make_shared<bool>(false);
  auto sep = std::make_shared<std::string>();
  CLI::App* sub = cmd.add_subcommand("rouge", "ROUGE-1/2/L/Lsum as Google's rouge-score computes them");
  add_common(sub, *args);
  sub->add_flag("--stem", *stem, "Porter-stem tokens longer than 3 letters (rouge-score's use_stemmer)");
  sub->add_flag("--no-cjk", *no_cjk, "rouge-score's tokenizer exactly (drops CJK characters)");
  sub->add_option("--sentence-sep", *sep,
                  "string that separates sentences inside a line, for ROUGE-Lsum (default: each line is one sentence)");
  sub->callback([=] {
    RougeOptions o;
    o.use_stemmer = *stem;
    o.cjk_aware = !*no_cjk;
    std::function<std::string(std::string)> transform;
    if (!sep->empty()) {
      transform = [sep](std::string s) {
        std::string out;
        size_t start = 0, pos;
        while ((pos = s.find(*sep, start)) != std::string::npos) {
          out.append(s, start, pos - start);
          out.push_back('\n');
          start = pos + sep->size();
        }
        out.append(s, start, std::string::npos);
        return out;
      };
    }
    const Inputs in = load_inputs(*args, transform);
    nlohmann::json details;
    auto metrics = rouge_metrics(in.hyps, in.refs, o, details);
    const auto& d = details["rouge"];
    std::string header = fmt::format("ROUGE (rouge-score, tokenizer {}, stemmer {}); F below, P/R:", d["tokenizer"].get<std::string>(),
                                     o.use_stemmer ? "on" : "off");
    for (const char* t : {"rouge1", "rouge2", "rougeL", "rougeLsum"}) {
      header += fmt::format("\n  {:<10} P {:6.2f}  R {:6.2f}", t, d[t]["precision"].get<double>(), d[t]["recall"].get<double>());
    }
    finish(*args, in, "ROUGE report", std::move(metrics), details, header, {});
  });
}

void setup_qa(CLI::App& cmd) {
  auto args = std::make_shared<CommonArgs>();
  auto no_cjk = std::make_shared<bool>(false);
  CLI::App* sub = cmd.add_subcommand("qa", "exact match and token F1 (SQuAD normalisation)");
  add_common(sub, *args);
  sub->add_flag("--no-cjk", *no_cjk, "SQuAD's normalisation exactly (no CJK character tokens)");
  sub->callback([=] {
    QaOptions o;
    o.cjk_aware = !*no_cjk;
    const Inputs in = load_inputs(*args);
    nlohmann::json details;
    auto metrics = qa_metrics(in.hyps, in.refs, o, details);
    finish(*args, in, "QA report", std::move(metrics), details, "", {});
  });
}

// Shows what a metric sees: the tokens of each stdin line, space-separated.
void setup_tokenize(CLI::App& cmd) {
  auto scheme = std::make_shared<std::string>("13a");
  auto stem = std::make_shared<bool>(false);
  auto no_cjk = std::make_shared<bool>(false);
  CLI::App* sub = cmd.add_subcommand("tokenize", "print the tokens a metric sees for each line of stdin");
  sub->add_option("--scheme", *scheme,
                  "13a | zh | char | none (BLEU), rouge, qa, porter (NLTK Porter stem of each word), "
                  "porter-original (Porter 1980)")
      ->capture_default_str();
  sub->add_flag("--stem", *stem, "rouge: Porter-stem tokens longer than 3 letters");
  sub->add_flag("--no-cjk", *no_cjk, "rouge/qa: no CJK character tokens (the reference tools' behaviour)");
  add_config_option(*sub);
  sub->callback([=] {
    std::function<std::vector<std::string>(const std::string&)> tok;
    if (*scheme == "rouge") {
      const RougeOptions o{*stem, !*no_cjk};
      tok = [o](const std::string& s) { return rouge_tokenize(s, o); };
    } else if (*scheme == "qa") {
      const QaOptions o{!*no_cjk};
      tok = [o](const std::string& s) { return qa_tokens(s, o); };
    } else if (*scheme == "porter" || *scheme == "porter-original") {
      const PorterMode mode = *scheme == "porter" ? PorterMode::kNltkExtensions : PorterMode::kOriginal;
      tok = [mode](const std::string& s) {
        std::vector<std::string> out;
        for (const auto& w : split_whitespace(s)) out.push_back(porter_stem(w, mode));
        return out;
      };
    } else {
      const BleuTokenizer t = parse_bleu_tokenizer(*scheme);
      tok = [t](const std::string& s) { return bleu_tokenize(t, s); };
    }
    std::string line, out;
    char buf[1 << 16];
    std::string pending;
    size_t n;
    auto emit = [&](const std::string& l) {
      std::string text = l;
      if (!text.empty() && text.back() == '\r') text.pop_back();
      const auto toks = tok(text);
      for (size_t i = 0; i < toks.size(); ++i) {
        if (i) out.push_back(' ');
        out += toks[i];
      }
      out.push_back('\n');
      if (out.size() > (1 << 16)) std::fwrite(out.data(), 1, out.size(), stdout), out.clear();
    };
    while ((n = std::fread(buf, 1, sizeof(buf), stdin)) > 0) {
      pending.append(buf, n);
      size_t start = 0, nl;
      while ((nl = pending.find('\n', start)) != std::string::npos) {
        emit(pending.substr(start, nl - start));
        start = nl + 1;
      }
      pending.erase(0, start);
    }
    if (!pending.empty()) emit(pending);
    std::fwrite(out.data(), 1, out.size(), stdout);
  });
}

// Previews counterfactual prompts: each stdin line with the group terms swapped.
void setup_swap_terms(CLI::App& cmd) {
  auto pairs_file = std::make_shared<std::string>();
  CLI::App* sub = cmd.add_subcommand("swap-terms", "swap group terms (he<->she, 他<->她) in each line of stdin");
  sub->add_option("--pairs", *pairs_file, "TSV of term pairs, one 'term<TAB>term' per line")->type_name(kFile)->required();
  add_config_option(*sub);
  sub->callback([=] {
    const auto pairs = read_term_pairs(*pairs_file);
    std::string all;
    char buf[1 << 16];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), stdin)) > 0) all.append(buf, n);
    std::fputs(swap_terms(all, pairs).text.c_str(), stdout);
  });
}

void setup_metrics(CLI::App& cmd) {
  cmd.require_subcommand(1);
  setup_bleu(cmd);
  setup_rouge(cmd);
  setup_qa(cmd);
  setup_tokenize(cmd);
  setup_swap_terms(cmd);
}

}  // namespace
CF_REGISTER_COMMAND({"metrics", "score existing texts: BLEU (sacreBLEU), ROUGE (rouge-score), QA EM/F1", setup_metrics, 75});
}  // namespace chatforge::cli
