// The feedback store: one SQLite file with conversations, messages (each answer with the
// prompt messages that produced it, the system prompt it was generated with, the model and
// the sampling settings), and ratings (+1/-1, at most one per message, later ratings
// replace earlier ones) with comments. Thread-safe (one connection, serialized). Exports
// close the loop back to training: liked answers -> SFT JSONL, liked vs disliked answers to
// the same prompt -> preference pairs, each prompt led by the system prompt that was used.
// Opening an older database adds the columns it lacks (rows keep their data; rows recorded
// before the system prompt was kept export exactly as before).
#pragma once
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

struct sqlite3;

namespace chatforge::serve {

class FeedbackStore {
 public:
  explicit FeedbackStore(const std::string& path);  // creates the file and schema if needed
  ~FeedbackStore();
  FeedbackStore(const FeedbackStore&) = delete;
  FeedbackStore& operator=(const FeedbackStore&) = delete;

  // Records one answer. prompt: the OpenAI messages array the request sent; system: the
  // system prompt the answer was generated with (the request's own leading system message,
  // else the server's --system; empty: none). Creates the conversation on first sight.
  // Returns the answer's message id.
  int64_t record_answer(const std::string& conversation_id, const std::string& model, const nlohmann::json& prompt,
                        const std::string& system, const std::string& answer, const nlohmann::json& sampling);
  // Rates a message; false when there is no such assistant message.
  bool rate(int64_t message_id, int rating, const std::string& comment);

  // Counts and approval rates, overall, per model and per day (UTC).
  nlohmann::json stats();
  // Writes JSONL; returns the number of lines. sft: {"messages": [...prompt, answer]} for
  // each answer rated +1. preference: {"prompt": [...], "chosen": "...", "rejected": "..."}
  // for each (liked, disliked) pair of answers to the same prompt. The prompt is the one
  // the model saw: a recorded system prompt the request did not carry (the server's
  // --system) comes first as {"role": "system", ...}.
  size_t export_sft(const std::string& out_path);
  size_t export_preference(const std::string& out_path);
  // Every rated answer as {"prompt", "completion", "label": liked} JSONL (KTO's unpaired
  // layout, `data prefs --kind kto`); returns the count.
  size_t export_kto(const std::string& out_path);

 private:
  void exec(const char* sql);
  void migrate();  // adds the columns an older database lacks
  sqlite3* db_ = nullptr;
  std::string path_;
  std::mutex mu_;
};

}  // namespace chatforge::serve
