// The HTTP server behind `chatforge serve`: OpenAI-compatible /v1 endpoints (models, chat
// completions, completions; streaming as Server-Sent Events), /v1/feedback, /health,
// /metrics, the embedded web chat page at / and its settings at /ui/config. Bearer-token auth on /v1 when a key is
// set, a body size limit, 429 + Retry-After when the queue is full; every bad request is
// a 4xx with an OpenAI error object. Connections, heads, bodies and timeouts are bounded by
// HttpLimits (http_server.h says how).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "infer/engine.h"
#include "model/gpt.h"
#include "model/lora_bank.h"
#include "ops/ops.h"
#include "serve/http_limits.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/tokenizer.h"

namespace chatforge::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (bind() returns it)
  std::string api_key;  // empty: no auth
  int parallel = 4;
  int max_queue = 32;
  std::string db;  // feedback SQLite file; empty: feedback disabled
  HttpLimits limits;  // connections, header and body sizes, timeouts
  std::string model_id;
  std::string default_system;  // system prompt for chat requests that bring none
  std::vector<std::string> examples;  // questions the web page offers in an empty chat (/ui/config)
  // chat requests that do not fit the context: leave out the oldest turns (reported as
  // usage.truncated_messages and the X-Chatforge-Context-Truncated header) or answer 400
  infer::ContextPolicy context_policy = infer::ContextPolicy::kTruncateOldest;
  ops::WeightFormat weights = ops::WeightFormat::kF32;  // storage of the weight matrices
  // --reasoning-format: auto splits a reasoning model's <think> block out of chat answers
  // into message.reasoning_content / delta.reasoning_content (when the tokenizer or template
  // has <think> and </think>); none leaves it in content, verbatim.
  bool reasoning_auto = true;
};

class Server {
 public:
  // `chat` renders /v1/chat/completions (the model's template, ChatML, or the plain fallback
  // for a base model); it must outlive the server. adapters (null: none): LoRA adapters over
  // `model`, each served under its name next to the base's model_id (requests pick one by
  // their `model` field and are batched together); it must outlive the server.
  Server(ServerOptions options, const model::Gpt& model, const tok::Tokenizer& tokenizer, const tok::ChatFormat& chat,
         std::vector<int32_t> stop_ids, const model::LoraBank* adapters = nullptr);
  ~Server();
  int bind();     // binds host:port, returns the port; throws Error when it cannot
  void run();     // serves until stop()
  void stop();    // from any thread (e.g. a signal watcher)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chatforge::serve
