// The feedback store: one SQLite file with conversations, messages (each answer with the
// prompt messages that produced it, the system prompt it was generated with, the model and
// the sampling settings), and ratings (+1/-1, at most one per message, later ratings
// replace earlier ones) with comments. Thread-safe (one connection, serialized). Exports
// close the loop back to training: liked answers -> SFT JSONL, liked vs disliked answers to
// the same prompt -> preference pairs, each prompt led by the system prompt that was used.
// Besides ratings: pairs (two answers to the same prompt, the user picked one: "regenerate
// and compare") and edits (the user corrected an answer), both exported as chosen-over-
// rejected preference pairs and as KTO's liked/disliked answers.
// Opening an older database adds the columns and tables it lacks (rows keep their data;
// rows recorded before the system prompt was kept export exactly as before).
#pragma once
#include <array>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

struct sqlite3;

namespace chatforge::serve {

// Feedback the store refuses: status 404 (no such answer) or 400 (the answers do not fit
// together), param the request field at fault.
struct FeedbackRefused : std::runtime_error {
  FeedbackRefused(int status, std::string param, const std::string& message)
      : std::runtime_error(message), status(status), param(std::move(param)) {}
  int status;
  std::string param;
};

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

  // The user compared two answers to the same prompt (the same messages and system prompt)
  // and picked chosen_id over rejected_id. Picking between the same two again replaces the
  // earlier choice (either way round). Returns the pair's id; throws FeedbackRefused when an
  // id names no assistant answer (404), or the two answer different prompts or have the
  // same text (400, param rejected_id).
  int64_t add_pair(int64_t chosen_id, int64_t rejected_id, const std::string& comment);
  // The user edited answer message_id into `content` (chosen over the original). One edit per
  // answer: a later one replaces it. Returns the edit's id; throws FeedbackRefused for an
  // unknown answer (404) or content equal to the original (400, param content).
  int64_t add_edit(int64_t message_id, const std::string& content, const std::string& comment);

  // Counts and approval rates, overall, per model and per day (UTC).
  nlohmann::json stats();
  // Writes JSONL; returns the number of lines. sft: {"messages": [...prompt, answer]} for
  // each answer rated +1, then each edited answer (the edit). preference: {"prompt": [...],
  // "chosen": "...", "rejected": "..."} for each (liked, disliked) pair of answers to the
  // same prompt, then each compared pair (picked, other), then each edit (edited, original);
  // a triple that two of these give is written once. The prompt is the one
  // the model saw: a recorded system prompt the request did not carry (the server's
  // --system) comes first as {"role": "system", ...}.
  size_t export_sft(const std::string& out_path);
  size_t export_preference(const std::string& out_path);
  // Every rated answer as {"prompt", "completion", "label": liked} JSONL (KTO's unpaired
  // layout, `data prefs --kind kto`), then each compared pair as its picked answer (true)
  // and the other (false), then each edit as the edited text (true) and the original
  // (false); the same (prompt, completion, label) is written once. Returns the count.
  size_t export_kto(const std::string& out_path);

 private:
  void exec(const char* sql);
  void migrate();  // adds the columns an older database lacks
  struct Answer {
    std::string prompt_key;  // the prompt as the model saw it, canonical JSON
    std::string content;
  };
  std::optional<Answer> answer(int64_t message_id);  // an assistant message; nullopt: none
  // (prompt_key, chosen, rejected) of ratings, pairs and edits, in that order, each once
  std::vector<std::array<std::string, 3>> preference_triples();
  sqlite3* db_ = nullptr;
  std::string path_;
  std::mutex mu_;
};

}  // namespace chatforge::serve
