// Greedy continuation over a checkpoint: load_model + one-sequence Engine, temperature 0.
#include "infer/greedy.h"

#include <memory>
#include <utility>

#include "infer/engine.h"
#include "model/checkpoint.h"

namespace chatforge::infer {

namespace {
struct Loaded {  // destroyed in reverse order: the engine (which uses the model) first
  std::unique_ptr<model::Gpt> model;
  std::unique_ptr<Engine> engine;
};
}  // namespace

GreedyFn load_greedy_continuation(const std::string& model_dir, int sample_vocab_size) {
  auto m = std::make_shared<Loaded>();
  m->model = model::load_model(model_dir);
  m->engine = std::make_unique<Engine>(*m->model, 1);
  return [m, sample_vocab_size](const std::vector<int32_t>& prompt, int max_new, const std::vector<int32_t>& stop_ids) {
    GenerationRequest req;
    req.prompt = prompt;
    req.sampling.temperature = 0.0f;
    req.max_new_tokens = max_new;
    req.stop_ids = stop_ids;
    req.context_policy = ContextPolicy::kTruncateOldest;
    req.sample_vocab_size = sample_vocab_size;
    return m->engine->generate(std::move(req)).tokens;
  };
}

}  // namespace chatforge::infer
