// Greedy continuation of token ids with a model loaded from a checkpoint: the piece of a
// model-backed text tool (e.g. `data chat --augment-model`, data::chat_model_paraphraser)
// that needs a model. Ids in, ids out; the caller renders and decodes text.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace chatforge::infer {

// prompt -> up to max_new greedily chosen tokens, ending before the first of stop_ids
// (not included). Ids at or above sample_vocab_size (when > 0) are never chosen; a prompt
// longer than the context keeps its newest tokens. Deterministic. The returned function
// owns the model and its engine (one sequence, KV cache of the model's context).
using GreedyFn = std::function<std::vector<int32_t>(const std::vector<int32_t>& prompt, int max_new,
                                                    const std::vector<int32_t>& stop_ids)>;
GreedyFn load_greedy_continuation(const std::string& model_dir, int sample_vocab_size);

}  // namespace chatforge::infer
