// The feedback store: one SQLite file with conversations, messages (each answer with the
// prompt messages that produced it, the model and the sampling settings), and ratings
// (+1/-1, at most one per message, later ratings replace earlier ones) with comments.
// Thread-safe (one connection, serialized). Exports close the loop back to training:
// liked answers -> SFT JSONL, liked vs disliked answers to the same prompt -> preference pairs.
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

  // Records one answer. prompt: the OpenAI messages array it answered. Creates the
  // conversation on first sight (system prompt from the first system message). Returns
  // the answer's message id.
  int64_t record_answer(const std::string& conversation_id, const std::string& model, const nlohmann::json& prompt,
                        const std::string& answer, const nlohmann::json& sampling);
  // Rates a message; false when there is no such assistant message.
  bool rate(int64_t message_id, int rating, const std::string& comment);

  // Counts and approval rates, overall, per model and per day (UTC).
  nlohmann::json stats();
  // Writes JSONL; returns the number of lines. sft: {"messages": [...prompt, answer]} for
  // each answer rated +1. preference: {"prompt": [...], "chosen": "...", "rejected": "..."}
  // for each (liked, disliked) pair of answers to the same prompt.
  size_t export_sft(const std::string& out_path);
  size_t export_preference(const std::string& out_path);

 private:
  void exec(const char* sql);
  sqlite3* db_ = nullptr;
  std::string path_;
  std::mutex mu_;
};

}  // namespace chatforge::serve
