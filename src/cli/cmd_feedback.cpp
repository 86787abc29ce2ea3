// `chatforge feedback stats|export`: reads the feedback database written by `chatforge
// serve --db F`. stats: counts and approval rates (overall, per model, per day); export:
// liked (and edited) answers as SFT JSONL; liked-vs-disliked, compared and edited pairs as
// preference JSONL; or every rated, compared or edited answer as KTO JSONL (prompt,
// completion, label).
#include <fmt/format.h>

#include <cstdio>

#include "cli/command.h"
#include "cli/common_flags.h"
#include "core/error.h"
#include "core/file_io.h"
#include "serve/feedback_store.h"

namespace chatforge::cli {
namespace {

struct FeedbackArgs {
  std::string db, format = "sft", out;
  bool json = false;
};

std::string rate_text(const nlohmann::json& r) {
  return r.is_null() ? std::string("-") : fmt::format("{:.1f}%", 100.0 * r.get<double>());
}

void stats(const FeedbackArgs& a) {
  CF_CHECK(file_exists(a.db), "feedback database {} does not exist", a.db);
  serve::FeedbackStore store(a.db);
  const nlohmann::json s = store.stats();
  if (a.json) {
    std::printf("%s\n", s.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }
  std::printf(
      "conversations %lld, answers %lld, thumbs up %lld, thumbs down %lld, comments %lld, approval %s, compared pairs "
      "%lld, edits %lld\n",
      s["conversations"].get<long long>(), s["answers"].get<long long>(), s["thumbs_up"].get<long long>(),
      s["thumbs_down"].get<long long>(), s["comments"].get<long long>(), rate_text(s["approval_rate"]).c_str(),
      s["pairs"].get<long long>(), s["edits"].get<long long>());
  for (const char* group : {"per_model", "per_day"}) {
    std::printf("\n%-24s %8s %6s %6s %9s\n", group[4] == 'm' ? "model" : "day", "answers", "up", "down", "approval");
    for (const auto& r : s[group])
      std::printf("%-24s %8lld %6lld %6lld %9s\n", r["key"].get<std::string>().c_str(), r["answers"].get<long long>(),
                  r["thumbs_up"].get<long long>(), r["thumbs_down"].get<long long>(),
                  rate_text(r["approval_rate"]).c_str());
  }
}

void export_data(const FeedbackArgs& a) {
  CF_CHECK(file_exists(a.db), "feedback database {} does not exist", a.db);
  if (a.format != "sft" && a.format != "preference" && a.format != "kto")
    usage_fail("--format must be sft, preference or kto, got {}", a.format);
  serve::FeedbackStore store(a.db);
  const size_t n = a.format == "sft"          ? store.export_sft(a.out)
                   : a.format == "preference" ? store.export_preference(a.out)
                                              : store.export_kto(a.out);
  std::printf("wrote %zu %s examples to %s\n", n, a.format.c_str(), a.out.c_str());
}

void setup_feedback(CLI::App& cmd) {
  auto a = std::make_shared<FeedbackArgs>();
  cmd.require_subcommand(1);
  auto* st = cmd.add_subcommand("stats", "counts and approval rate per model and per day");
  st->add_option("--db", a->db, "feedback database (chatforge serve --db)")->type_name(kFile)->required();
  st->add_flag("--json", a->json, "print the numbers as JSON");
  add_config_option(*st);
  st->callback([a] { stats(*a); });
  auto* ex = cmd.add_subcommand("export", "liked/edited answers -> SFT JSONL; rated, compared and edited pairs -> preference or KTO JSONL");
  ex->add_option("--db", a->db, "feedback database (chatforge serve --db)")->type_name(kFile)->required();
  ex->add_option("--format", a->format, "sft ({\"messages\": [...]}), preference ({\"prompt\", \"chosen\", \"rejected\"}) or kto "
                  "({\"prompt\", \"completion\", \"label\"}); the last two feed `data prefs`")
      ->capture_default_str();
  ex->add_option("--out", a->out, "output JSONL file (written atomically)")->type_name(kFile)->required();
  add_config_option(*ex);
  ex->callback([a] { export_data(*a); });
}

}  // namespace
CF_REGISTER_COMMAND({"feedback", "statistics and training data from the web page's ratings", setup_feedback, 85});
}  // namespace chatforge::cli
