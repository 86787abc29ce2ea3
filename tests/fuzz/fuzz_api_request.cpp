// Fuzz target: the OpenAI-compatible request bodies the server parses:
// /v1/chat/completions and /v1/completions (parse_completion_request) and /v1/feedback
// (parse_feedback_request). ApiError (a 4xx answer) is the expected outcome for bad
// input; its JSON body must serialise as the server sends it. Input: one byte choosing
// the endpoint and the model's context and system prompt, then the body.
#include <string>

#include "chat_checks.h"
#include "fuzz_util.h"
#include "serve/api_request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chatforge;
  std::string_view in = fuzz::as_view(data, size);
  const unsigned choice = fuzz::take_choice(in, 12);
  const std::string body(in);
  serve::ModelInfo model;
  model.id = "tiny";
  model.tokenizer = &fuzz::chat_tokenizer();
  model.format = &fuzz::chat_format();
  model.vocab_size = fuzz::chat_tokenizer().vocab_size();
  model.context = (choice & 4) != 0 ? 64 : 1024;
  if ((choice & 8) != 0) model.default_system = "You are terse.";
  const auto dump = [](const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); };
  try {
    if (choice % 4 == 3) {
      const serve::FeedbackRequest f = serve::parse_feedback_request(body);
      if (f.rating < -1 || f.rating > 1 || f.message_id < 1) fuzz::finding("feedback out of range accepted");
    } else {
      const bool chat = choice % 4 != 1;
      const serve::CompletionRequest r = serve::parse_completion_request(body, chat, model);
      if (r.max_tokens < 1 || r.prompt.empty() || r.prompt.size() + r.max_tokens > static_cast<size_t>(model.context))
        fuzz::finding("a request that does not fit the context was accepted");
      if (r.n < 1 || r.n > serve::kMaxChoices) fuzz::finding("n out of range accepted");
      for (int32_t id : r.prompt)
        if (id < 0 || id >= model.vocab_size) fuzz::finding("a prompt token outside the vocabulary");
      (void)dump(r.messages);
      (void)dump(r.sampling_json);
    }
  } catch (const serve::ApiError& e) {
    if (e.status < 400 || e.status > 499) fuzz::finding("a bad request answered with a non-4xx status");
    (void)dump(e.body());
  }
  return 0;
}
