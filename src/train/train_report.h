// What a training run tells the people watching it: OUT/metrics.jsonl (one JSON object
// per logged step or evaluation, appended and flushed as it happens) and OUT/report.html
// (SVG curves of train/validation loss, learning rate and throughput, the latest
// evaluation and sample generations), rewritten atomically at each evaluation.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace chatforge::train {

struct EvalRecord {
  int step = 0;
  double val_loss = 0.0 / 0.0, val_bpb = 0.0 / 0.0;
  std::map<std::string, double> task_losses;
  std::map<std::string, double> metrics;  // preference stages: rewards, accuracies, margins, kl (on val)
  std::vector<std::pair<std::string, std::string>> samples;  // prompt, continuation
};

class TrainReport {
 public:
  TrainReport(std::string out_dir, bool enabled) : dir_(std::move(out_dir)), enabled_(enabled) {}
  void start_fresh();          // truncates metrics.jsonl
  void resume_at(int step);    // keeps (and reloads) the records up to `step`, drops later ones
  void log_train(int step, double loss, float lr, float grad_norm, double tok_s, double mfu, uint64_t tokens,
                 double elapsed_s, double step_s = -1, double comm_s = -1);  // seconds (data-parallel runs)
  void log_eval(const EvalRecord& r);
  void write_html() const;
  double last_train_loss() const { return train_loss_.empty() ? 0.0 : train_loss_.back(); }

 private:
  void append(const std::string& line);
  void load_line(const std::string& line);
  std::string dir_;
  bool enabled_;
  std::vector<double> steps_, train_loss_, lr_, tok_s_, mfu_;
  std::vector<EvalRecord> evals_;
};

}  // namespace chatforge::train
