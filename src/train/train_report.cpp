// Implementation of train_report.h.
#include "train/train_report.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"
#include "core/file_io.h"
#include "core/json_util.h"
#include "core/svg_chart.h"

namespace chatforge::train {

namespace {
nlohmann::json num(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); }
double get_num(const nlohmann::json& j, const char* k) {
  return j.contains(k) && j[k].is_number() ? j[k].get<double>() : NAN;
}
}  // namespace

void TrainReport::start_fresh() {
  if (!enabled_) return;
  write_file_atomic(dir_ + "/metrics.jsonl", "");
}

void TrainReport::resume_at(int step) {
  if (!enabled_) return;
  const std::string path = dir_ + "/metrics.jsonl";
  std::string kept;
  if (file_exists(path)) {
    std::istringstream in(read_file(path));
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      const auto parsed = try_parse_json(line, nullptr);
      if (!parsed) continue;  // a line cut short by a kill
      const nlohmann::json& j = *parsed;
      if (j.value("step", 0) > step) continue;
      kept += line + "\n";
      load_line(line);
    }
  }
  write_file_atomic(path, kept);
}

void TrainReport::load_line(const std::string& line) {
  const auto j = parse_json(line, dir_ + "/metrics.jsonl");
  if (j.value("type", "") == "train") {
    steps_.push_back(j.value("step", 0));
    train_loss_.push_back(get_num(j, "loss"));
    lr_.push_back(get_num(j, "lr"));
    tok_s_.push_back(get_num(j, "tok_s"));
    mfu_.push_back(get_num(j, "mfu"));
  } else if (j.value("type", "") == "eval") {
    EvalRecord r;
    r.step = j.value("step", 0);
    r.val_loss = get_num(j, "val_loss");
    r.val_bpb = get_num(j, "val_bpb");
    if (j.contains("task_losses"))
      for (auto it = j["task_losses"].begin(); it != j["task_losses"].end(); ++it)
        r.task_losses[it.key()] = it.value().is_number() ? it.value().get<double>() : NAN;
    if (j.contains("samples"))
      for (const auto& s : j["samples"]) r.samples.emplace_back(s.value("prompt", ""), s.value("output", ""));
    for (auto it = j.begin(); it != j.end(); ++it)  // preference metrics: "rewards/margins", "kl" ...
      if (it.key() == "kl" || it.key().find('/') != std::string::npos)
        r.metrics[it.key()] = it.value().is_number() ? it.value().get<double>() : NAN;
    evals_.push_back(std::move(r));
  }
}

void TrainReport::append(const std::string& line) {
  if (!enabled_) return;
  std::FILE* f = std::fopen((dir_ + "/metrics.jsonl").c_str(), "ab");
  CF_CHECK(f != nullptr, "cannot append to {}/metrics.jsonl", dir_);
  const bool ok = std::fputs((line + "\n").c_str(), f) >= 0 && std::fflush(f) == 0;
  std::fclose(f);
  CF_CHECK(ok, "cannot write {}/metrics.jsonl (disk full?)", dir_);
}

void TrainReport::log_train(int step, double loss, float lr, float grad_norm, double tok_s, double mfu,
                            uint64_t tokens, double elapsed_s, double step_s, double comm_s) {
  nlohmann::json j = {{"type", "train"}, {"step", step},           {"loss", num(loss)},
                      {"lr", lr},        {"grad_norm", num(grad_norm)}, {"tok_s", tok_s},
                      {"mfu", num(mfu)}, {"tokens", tokens},       {"elapsed_s", elapsed_s}};
  if (step_s >= 0) j["step_s"] = step_s;  // data-parallel runs: wall time of the step and
  if (comm_s >= 0) j["comm_s"] = comm_s;  // the part of it spent blocked in communication
  append(j.dump());
  load_line(j.dump());
}

void TrainReport::log_eval(const EvalRecord& r) {
  nlohmann::json j = {{"type", "eval"}, {"step", r.step}, {"val_loss", num(r.val_loss)},
                      {"val_ppl", num(std::exp(r.val_loss))}, {"val_bpb", num(r.val_bpb)}};
  if (!r.task_losses.empty()) {
    j["task_losses"] = nlohmann::json::object();
    for (const auto& [k, v] : r.task_losses) j["task_losses"][k] = num(v);
  }
  for (const auto& [k, v] : r.metrics) j[k] = num(v);
  if (!r.samples.empty()) {
    j["samples"] = nlohmann::json::array();
    for (const auto& [p, s] : r.samples) j["samples"].push_back({{"prompt", p}, {"output", s}});
  }
  // Invalid UTF-8 from a half-trained model must not break the log: replace it.
  const std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  append(line);
  load_line(line);
}

void TrainReport::write_html() const {
  if (!enabled_) return;
  std::vector<Series> loss = {{"train loss", steps_, train_loss_}, {"validation loss", {}, {}}};
  std::map<std::string, Series> tasks;
  for (const auto& e : evals_) {
    loss[1].x.push_back(e.step);
    loss[1].y.push_back(e.val_loss);
    for (const auto& [k, v] : e.task_losses) {
      tasks[k].name = "val: " + k;
      tasks[k].x.push_back(e.step);
      tasks[k].y.push_back(v);
    }
  }
  for (auto& [k, s] : tasks) loss.push_back(s);
  std::string h =
      "<!doctype html><html><head><meta charset='utf-8'><title>chatforge training report</title>"
      "<meta name='viewport' content='width=device-width, initial-scale=1'><style>body{font-family:sans-serif;"
      "margin:2em;max-width:1000px}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;"
      "text-align:left;vertical-align:top}pre{white-space:pre-wrap;margin:0}svg{max-width:100%;height:auto}"
      "</style></head><body>\n<h1>Training report</h1>\n<p>Run directory: <code>" +
      xml_escape(dir_) + "</code>. Metrics stream: <code>metrics.jsonl</code>.</p>\n";
  if (!steps_.empty())
    h += fmt::format("<p>Step {}: train loss {:.4f}, {:.0f} tokens/s, MFU {}.</p>\n", steps_.back(),
                     train_loss_.back(), tok_s_.back(),
                     std::isnan(mfu_.back()) ? std::string("n/a (the step ran faster than the --peak-gflops "
                                                           "given allows, so that peak is too low)")
                                             : fmt::format("{:.1f}%", 100 * mfu_.back()));
  h += svg_line_chart("Loss (nats per token)", "step", loss);
  std::map<std::string, Series> rewards;  // preference stages: rewards and margins on the held-out set
  for (const auto& e : evals_)
    for (const auto& [k, v] : e.metrics)
      if (k.rfind("rewards/", 0) == 0 && k != "rewards/accuracies") {
        rewards[k].name = k;
        rewards[k].x.push_back(e.step);
        rewards[k].y.push_back(v);
      }
  if (!rewards.empty()) {
    std::vector<Series> rs;
    for (auto& [k, s] : rewards) rs.push_back(s);
    h += svg_line_chart("Rewards on held-out examples (beta (log p - log p_ref))", "step", rs);
  }
  h += svg_line_chart("Learning rate", "step", {{"lr", steps_, lr_}});
  h += svg_line_chart("Throughput (tokens/s)", "step", {{"tokens/s", steps_, tok_s_}});
  if (!evals_.empty()) {
    const auto& e = evals_.back();
    h += fmt::format("<h2>Evaluation at step {}</h2>\n<table><tr><th>validation loss</th><td>{:.4f}</td></tr>"
                     "<tr><th>perplexity</th><td>{:.2f}</td></tr>",
                     e.step, e.val_loss, std::exp(e.val_loss));
    if (std::isfinite(e.val_bpb)) h += fmt::format("<tr><th>bits per byte</th><td>{:.4f}</td></tr>", e.val_bpb);
    for (const auto& [k, v] : e.task_losses)
      h += fmt::format("<tr><th>task {} loss</th><td>{:.4f}</td></tr>", xml_escape(k), v);
    for (const auto& [k, v] : e.metrics) h += fmt::format("<tr><th>{}</th><td>{:.4f}</td></tr>", xml_escape(k), v);
    h += "</table>\n";
    if (!e.samples.empty()) {
      h += "<h3>Samples (greedy)</h3><table><tr><th>prompt</th><th>continuation</th></tr>\n";
      for (const auto& [p, s] : e.samples)
        h += "<tr><td><pre>" + xml_escape(p) + "</pre></td><td><pre>" + xml_escape(s) + "</pre></td></tr>\n";
      h += "</table>\n";
    }
  }
  h += "</body></html>\n";
  write_file_atomic(dir_ + "/report.html", h);
}

}  // namespace chatforge::train
