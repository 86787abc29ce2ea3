// Implementation of loaded_model.h.
#include "interop/loaded_model.h"

#include <omp.h>

#include "core/error.h"
#include "core/file_io.h"
#include "model/checkpoint.h"
#include "tokenizer/chat_format.h"

namespace chatforge::interop {

LoadedModel load_model_and_tokenizer(const LoadOptions& o) {
  CF_CHECK(is_directory(o.model_dir), "model directory {} does not exist", o.model_dir);
  if (o.threads > 0) omp_set_num_threads(o.threads);
  LoadedModel lm;
  lm.weights = o.weights;
  const std::string tok_path = o.tokenizer.empty() ? o.model_dir : o.tokenizer;
  CF_CHECK(!o.tokenizer.empty() || file_exists(o.model_dir + "/tokenizer.json") ||
               file_exists(o.model_dir + "/vocab.json"),
           "{} has no tokenizer.json: pass --tokenizer DIR", o.model_dir);
  lm.tokenizer = std::make_unique<tok::Tokenizer>(tok::Tokenizer::load(tok_path));
  lm.model = model::load_model(o.model_dir);
  CF_CHECK(lm.tokenizer->vocab_size() <= lm.model->config().vocab_size,
           "tokenizer {} has {} tokens but the model's vocabulary is {}", tok_path, lm.tokenizer->vocab_size(),
           lm.model->config().vocab_size);
  for (const char* sp : {tok::kEndOfText, tok::kImEnd})
    if (auto id = lm.tokenizer->special_token_id(sp)) lm.stop_ids.push_back(*id);
  return lm;
}

bool has_chat_tokens(const tok::Tokenizer& t) {
  return t.special_token_id(tok::kImStart).has_value() && t.special_token_id(tok::kImEnd).has_value();
}

}  // namespace chatforge::interop
