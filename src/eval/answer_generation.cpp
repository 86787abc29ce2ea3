// Implementation of answer_generation.h.
#include "eval/answer_generation.h"

#include <algorithm>

#include "core/error.h"
#include "core/progress.h"
#include "infer/stop_strings.h"
#include "tokenizer/chat_format.h"

namespace chatforge::eval {

std::vector<int32_t> encode_prompt(const tok::Tokenizer& t, const tok::ChatFormat* chat, const PromptSpec& p) {
  if (p.chat) {
    CF_CHECK(chat, "a chat prompt needs a chat template; the model's tokenizer has none (no chat_template in "
                   "tokenizer_config.json, no <|im_start|>/<|im_end|> tokens)");
    std::vector<tok::ChatMessage> msgs;
    if (p.messages.empty()) {
      msgs.push_back({"user", p.text});
    } else {
      for (const auto& [role, content] : p.messages) msgs.push_back({role, content});
    }
    return chat->render(msgs, true).ids;
  }
  return t.encode(p.text);
}

std::vector<GeneratedAnswer> generate_answers(const interop::LoadedModel& lm, const AnswerOptions& o,
                                              const std::vector<std::vector<int32_t>>& prompts) {
  infer::Engine engine(*lm.model, std::max(1, std::min<int>(o.batch, static_cast<int>(prompts.size()))), 0,
                       lm.weights);
  std::vector<GeneratedAnswer> out;
  out.reserve(prompts.size());
  ProgressBar bar(o.label, prompts.size(), "answers");
  for (size_t start = 0; start < prompts.size(); start += engine.max_batch()) {
    const size_t end = std::min(prompts.size(), start + engine.max_batch());
    std::vector<infer::GenerationRequest> reqs;
    for (size_t i = start; i < end; ++i) {
      CF_CHECK(!prompts[i].empty(), "prompt {} encodes to no tokens", i + 1);
      infer::GenerationRequest r;
      r.prompt = prompts[i];
      r.sampling = o.sampling;
      r.sampling.seed = o.sampling.seed + i;
      r.max_new_tokens = o.max_tokens;
      r.stop_ids = lm.stop_ids;
      r.context_policy = o.context_policy;
      r.sample_vocab_size = lm.tokenizer->vocab_size();
      reqs.push_back(std::move(r));
    }
    for (auto& r : engine.generate_batch(std::move(reqs))) {
      infer::StopStringMatcher matcher(o.stop);
      std::string text = matcher.push(lm.tokenizer->decode(r.tokens));
      if (!matcher.matched()) text += matcher.flush();
      if (r.stop_id >= 0) r.tokens.push_back(r.stop_id);
      out.push_back({std::move(text), std::move(r.tokens)});
    }
    bar.update(end);
  }
  bar.finish();
  return out;
}

}  // namespace chatforge::eval
