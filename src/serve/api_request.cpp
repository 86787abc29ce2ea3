// Request validation with explicit type checks on every field (nlohmann::json never
// converts implicitly here), so a wrong type is a 400 naming the field, never a crash.
#include "serve/api_request.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdlib>

#include "core/error.h"
#include "core/json_util.h"
#include "serve/context_fit.h"
#include "tokenizer/reasoning.h"

namespace chatforge::serve {
namespace {

using nlohmann::json;

ApiError bad(const std::string& param, const std::string& msg, const std::string& code = "invalid_value") {
  return ApiError(400, msg, param, code);
}

json parse_body(const std::string& body) {
  json j;
  try {
    j = parse_json(body, "the request body");
  } catch (const Error& e) {
    throw ApiError(400, e.what(), "", "invalid_json");
  }
  if (!j.is_object()) throw ApiError(400, "the request body must be a JSON object", "", "invalid_json");
  return j;
}

const json* field(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return nullptr;
  return &*it;
}

double number_in(const json& j, const char* name, double def, double lo, double hi) {
  const json* v = field(j, name);
  if (!v) return def;
  if (!v->is_number()) throw bad(name, fmt::format("'{}' must be a number", name), "invalid_type");
  const double x = v->get<double>();
  if (!std::isfinite(x) || x < lo || x > hi)
    throw bad(name, fmt::format("'{}' must be between {} and {}, got {}", name, lo, hi, x));
  return x;
}

int64_t integer_in(const json& j, const char* name, int64_t def, int64_t lo, int64_t hi) {
  const json* v = field(j, name);
  if (!v) return def;
  if (!v->is_number_integer()) throw bad(name, fmt::format("'{}' must be an integer", name), "invalid_type");
  const int64_t x = v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)
                        ? INT64_MAX
                        : v->get<int64_t>();
  if (x < lo || x > hi) throw bad(name, fmt::format("'{}' must be between {} and {}, got {}", name, lo, hi, x));
  return x;
}

bool boolean(const json& j, const char* name, bool def) {
  const json* v = field(j, name);
  if (!v) return def;
  if (!v->is_boolean()) throw bad(name, fmt::format("'{}' must be true or false", name), "invalid_type");
  return v->get<bool>();
}

// OpenAI content: a string, or an array of {"type": "text", "text": "..."} parts.
std::string message_content(const json& m, size_t i) {
  const std::string param = fmt::format("messages[{}].content", i);
  const json* c = field(m, "content");
  if (!c) throw bad(param, fmt::format("messages[{}] needs a 'content'", i), "missing_required_parameter");
  if (c->is_string()) return c->get<std::string>();
  if (c->is_array()) {
    std::string text;
    for (const auto& part : *c) {
      if (!part.is_object() || part.value("type", json()) != "text" || !part.contains("text") ||
          !part["text"].is_string())
        throw bad(param, "only text content parts ({\"type\": \"text\", \"text\": ...}) are supported", "invalid_type");
      text += part["text"].get<std::string>();
    }
    return text;
  }
  throw bad(param, "'content' must be a string or an array of text parts", "invalid_type");
}

}  // namespace

json ApiError::body() const {
  return {{"error",
           {{"message", what()},
            {"type", type},
            {"param", param.empty() ? json() : json(param)},
            {"code", code.empty() ? json() : json(code)}}}};
}

namespace {

// 'model' must name the base model or one of its LoRA adapters: r.model, r.adapter.
void parse_model_field(const json& j, const ModelInfo& model, CompletionRequest& r) {
  const json* m = field(j, "model");
  if (!m) throw ApiError(400, "you must provide a 'model'", "model", "missing_required_parameter");
  if (!m->is_string()) throw bad("model", "'model' must be a string", "invalid_type");
  r.model = m->get<std::string>();
  if (r.model == model.id) return;
  for (size_t i = 0; i < model.adapters.size(); ++i)
    if (r.model == model.adapters[i]) {
      r.adapter = static_cast<int>(i);
      return;
    }
  std::string served = "`" + model.id + "`";
  for (const auto& a : model.adapters) served += ", `" + a + "`";
  throw ApiError(404, fmt::format("The model `{}` does not exist; this server serves {}", r.model, served), "model",
                 "model_not_found");
}

// The name the request gives the answer's length under: chat requests may use
// max_completion_tokens (the newer name), everything else max_tokens.
const char* max_tokens_name(const json& j, bool chat) {
  return chat && field(j, "max_completion_tokens") ? "max_completion_tokens" : "max_tokens";
}

// Chat: messages -> r.messages and the rendered prompt, fitted to the context by the
// model's context policy (r.truncated_messages says how many were left out).
void parse_chat_prompt(const json& j, const ModelInfo& model, CompletionRequest& r) {
  const json* msgs = field(j, "messages");
  if (!msgs) throw ApiError(400, "you must provide 'messages'", "messages", "missing_required_parameter");
  if (!msgs->is_array() || msgs->empty()) throw bad("messages", "'messages' must be a non-empty array");
  std::vector<tok::ChatMessage> cm;
  r.messages = json::array();
  for (size_t i = 0; i < msgs->size(); ++i) {
    const json& mi = (*msgs)[i];
    if (!mi.is_object()) throw bad(fmt::format("messages[{}]", i), "each message must be an object", "invalid_type");
    const json* role = field(mi, "role");
    if (!role || !role->is_string())
      throw bad(fmt::format("messages[{}].role", i), fmt::format("messages[{}] needs a string 'role'", i));
    std::string role_s = role->get<std::string>();
    if (role_s == "developer") role_s = "system";
    if (!tok::is_chat_role(role_s))
      throw bad(fmt::format("messages[{}].role", i),
                fmt::format("messages[{}].role '{}' is not one of system, user, assistant", i, role_s));
    cm.push_back({role_s, message_content(mi, i)});
    // a reasoning model's earlier answer sent back with its thinking: the template gets
    // it as a message field (Qwen3's keeps it only for turns after the last user message)
    if (const json* rc = field(mi, "reasoning_content"); rc && !rc->is_null()) {
      if (!rc->is_string())
        throw bad(fmt::format("messages[{}].reasoning_content", i), "'reasoning_content' must be a string or null",
                  "invalid_type");
      cm.back().reasoning_content = rc->get<std::string>();
    }
    r.messages.push_back({{"role", role_s}, {"content", cm.back().content}});
  }
  if (!model.default_system.empty() && cm.front().role != "system")
    cm.insert(cm.begin(), tok::ChatMessage{"system", model.default_system});
  if (cm.front().role == "system") r.system_prompt = cm.front().content;
  try {
    if (model.context_policy == infer::ContextPolicy::kTruncateOldest) {
      // room for the answer: what max_tokens asks, else min(512, context/4) (as `chat`)
      const char* name = max_tokens_name(j, true);
      const int asked = static_cast<int>(integer_in(j, name, 0, 1, model.context));
      const int reserve = asked > 0 ? asked : std::max(1, std::min(kDefaultMaxTokens, model.context / 4));
      FittedChat fc = fit_chat_to_context(*model.format, cm, model.context, reserve);
      r.prompt = std::move(fc.ids);
      r.truncated_messages = fc.dropped;
    } else {
      r.prompt = model.format->render(cm, true).ids;
    }
  } catch (const ApiError&) {
    throw;
  } catch (const std::exception& e) {
    throw bad("messages", e.what());
  }
  for (const auto& s : model.format->stop_strings()) r.stop.push_back(s);  // the plain template's "\nUser:"
  if (model.reasoning) {
    r.reasoning = true;
    const size_t tail = std::min<size_t>(r.prompt.size(), 16);
    r.reasoning_opened = tok::prompt_opens_reasoning(
        model.tokenizer->decode(std::vector<int32_t>(r.prompt.end() - static_cast<std::ptrdiff_t>(tail), r.prompt.end())));
  }
}

// Completions: 'prompt' (a string, or an array of one) -> tokens.
void parse_text_prompt(const json& j, const ModelInfo& model, CompletionRequest& r) {
  const json* p = field(j, "prompt");
  if (!p) throw ApiError(400, "you must provide a 'prompt'", "prompt", "missing_required_parameter");
  std::string text;
  if (p->is_string()) {
    text = p->get<std::string>();
  } else if (p->is_array() && p->size() == 1 && (*p)[0].is_string()) {
    text = (*p)[0].get<std::string>();
  } else {
    throw bad("prompt", "'prompt' must be a string (or an array of one string)", "invalid_type");
  }
  r.prompt = model.tokenizer->encode(text, false);
  if (r.prompt.empty()) throw bad("prompt", "'prompt' is empty");
}

// max_tokens against the room the prompt leaves; a prompt that fills the context is an error.
void parse_max_tokens(const json& j, bool chat, const ModelInfo& model, CompletionRequest& r) {
  const int ctx = model.context;
  // with truncate-oldest, the prompt here is already the shortest the policy allows
  const std::string dropped =
      r.truncated_messages > 0 ? fmt::format(" even after leaving out the {} oldest messages (the last user turn and "
                                             "a system prompt are always kept)",
                                             r.truncated_messages)
                               : "";
  if (static_cast<int>(r.prompt.size()) >= ctx)
    throw bad(chat ? "messages" : "prompt",
              fmt::format("this model's maximum context length is {} tokens; the prompt has {} tokens{}", ctx,
                          r.prompt.size(), dropped),
              "context_length_exceeded");
  const int room = ctx - static_cast<int>(r.prompt.size());
  const char* max_name = max_tokens_name(j, chat);
  r.max_tokens = static_cast<int>(integer_in(j, max_name, std::min(kDefaultMaxTokens, room), 1, ctx));
  if (r.max_tokens > room)
    throw bad(max_name,
              fmt::format("this model's maximum context length is {} tokens; the prompt ({}) plus {} = {} exceeds it{}",
                          ctx, r.prompt.size(), max_name, r.prompt.size() + static_cast<size_t>(r.max_tokens),
                          dropped),
              "context_length_exceeded");
}

void parse_logit_bias(const json& j, const ModelInfo& model, CompletionRequest& r) {
  if (const json* lb = field(j, "logit_bias")) {
    if (!lb->is_object()) throw bad("logit_bias", "'logit_bias' must be an object of token id -> bias", "invalid_type");
    if (lb->size() > 300) throw bad("logit_bias", "'logit_bias' has more than 300 entries");
    for (auto it = lb->begin(); it != lb->end(); ++it) {
      char* end = nullptr;
      const long id = std::strtol(it.key().c_str(), &end, 10);
      if (it.key().empty() || *end != '\0' || id < 0 || id >= model.vocab_size)
        throw bad("logit_bias", fmt::format("logit_bias key '{}' is not a token id below {}", it.key(), model.vocab_size));
      if (!it->is_number() || !std::isfinite(it->get<double>()) || std::fabs(it->get<double>()) > 100)
        throw bad("logit_bias", "logit_bias values must be numbers between -100 and 100");
      r.sampling.logit_bias[static_cast<int32_t>(id)] = it->get<float>();
    }
  }
}

void parse_stop(const json& j, CompletionRequest& r) {
  if (const json* s = field(j, "stop")) {
    if (s->is_string()) {
      r.stop.push_back(s->get<std::string>());
    } else if (s->is_array() && s->size() <= 4) {
      for (const auto& x : *s) {
        if (!x.is_string()) throw bad("stop", "'stop' entries must be strings", "invalid_type");
        r.stop.push_back(x.get<std::string>());
      }
    } else {
      throw bad("stop", "'stop' must be a string or an array of at most 4 strings", "invalid_type");
    }
    for (const auto& s1 : r.stop)
      if (s1.empty() || s1.size() > 256) throw bad("stop", "stop strings must be 1 to 256 bytes");
  }
}

}  // namespace

CompletionRequest parse_completion_request(const std::string& body, bool chat, const ModelInfo& model) {
  const json j = parse_body(body);
  CompletionRequest r;
  r.chat = chat;
  parse_model_field(j, model, r);
  if (chat)
    parse_chat_prompt(j, model, r);
  else
    parse_text_prompt(j, model, r);
  parse_max_tokens(j, chat, model, r);

  r.sampling.temperature = static_cast<float>(number_in(j, "temperature", 1.0, 0.0, 2.0));
  r.sampling.top_p = static_cast<float>(number_in(j, "top_p", 1.0, 0.0, 1.0));
  if (r.sampling.top_p <= 0.0f) r.sampling.top_p = 1e-6f;  // keep only the most likely token
  r.sampling.top_k = static_cast<int>(integer_in(j, "top_k", 0, 0, model.vocab_size));
  r.sampling.frequency_penalty = static_cast<float>(number_in(j, "frequency_penalty", 0.0, -2.0, 2.0));
  r.sampling.presence_penalty = static_cast<float>(number_in(j, "presence_penalty", 0.0, -2.0, 2.0));
  const bool has_seed = field(j, "seed") != nullptr;
  r.sampling.seed = static_cast<uint64_t>(integer_in(j, "seed", 0, INT64_MIN, INT64_MAX));
  if (!has_seed) r.sampling.seed = static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  r.n = static_cast<int>(integer_in(j, "n", 1, 1, kMaxChoices));
  r.stream = boolean(j, "stream", false);
  if (const json* so = field(j, "stream_options")) {
    if (!so->is_object()) throw bad("stream_options", "'stream_options' must be an object", "invalid_type");
    r.include_usage = boolean(*so, "include_usage", false);
  }
  parse_logit_bias(j, model, r);
  if (chat) {
    r.logprobs = boolean(j, "logprobs", false);
    r.top_logprobs = static_cast<int>(integer_in(j, "top_logprobs", 0, 0, 20));
    if (r.top_logprobs > 0 && !r.logprobs) throw bad("top_logprobs", "'top_logprobs' needs 'logprobs': true");
  } else {
    const json* lp = field(j, "logprobs");
    if (lp) {
      r.logprobs = true;
      r.top_logprobs = static_cast<int>(integer_in(j, "logprobs", 0, 0, 5));
    }
  }
  r.sampling.logprobs = r.logprobs;
  r.sampling.top_logprobs = r.top_logprobs;

  parse_stop(j, r);
  if (const json* c = field(j, "conversation_id")) {
    if (!c->is_string() || c->get<std::string>().empty() || c->get<std::string>().size() > 128)
      throw bad("conversation_id", "'conversation_id' must be a string of 1 to 128 characters", "invalid_type");
    r.conversation_id = c->get<std::string>();
  }
  try {
    r.sampling.validate(model.vocab_size);
  } catch (const std::exception& e) {
    throw bad("", e.what());
  }
  r.sampling_json = {{"temperature", r.sampling.temperature}, {"top_p", r.sampling.top_p},
                     {"max_tokens", r.max_tokens},            {"seed", r.sampling.seed},
                     {"frequency_penalty", r.sampling.frequency_penalty},
                     {"presence_penalty", r.sampling.presence_penalty}};
  return r;
}

const char* feedback_kind_name(FeedbackKind k) {
  return k == FeedbackKind::kPair ? "pair" : k == FeedbackKind::kEdit ? "edit" : "rating";
}

FeedbackRequest parse_feedback_request(const std::string& body) {
  const json j = parse_body(body);
  FeedbackRequest f;
  if (const json* k = field(j, "kind")) {
    if (!k->is_string()) throw bad("kind", "'kind' must be \"rating\", \"pair\" or \"edit\"", "invalid_type");
    const std::string s = k->get<std::string>();
    if (s == "pair") f.kind = FeedbackKind::kPair;
    else if (s == "edit") f.kind = FeedbackKind::kEdit;
    else if (s != "rating")
      throw bad("kind", fmt::format("'kind' must be \"rating\", \"pair\" or \"edit\", got \"{}\"", s.substr(0, 40)));
  }
  const char* kind = feedback_kind_name(f.kind);
  // the fields each kind takes; anything else is refused by name
  const std::vector<std::string> allowed =
      f.kind == FeedbackKind::kRating ? std::vector<std::string>{"kind", "message_id", "rating", "comment"}
      : f.kind == FeedbackKind::kPair ? std::vector<std::string>{"kind", "chosen_id", "rejected_id", "comment"}
                                      : std::vector<std::string>{"kind", "message_id", "content", "comment"};
  for (const auto& [name, value] : j.items())
    if (std::find(allowed.begin(), allowed.end(), name) == allowed.end())
      throw bad(name.substr(0, 64), fmt::format("'{}' is not a field of kind \"{}\" (it takes {})", name.substr(0, 64), kind,
                                                fmt::join(allowed.begin() + 1, allowed.end(), ", ")),
                "unknown_parameter");
  auto required_id = [&](const char* name) {
    if (!field(j, name))
      throw ApiError(400, fmt::format("you must provide '{}' (kind \"{}\")", name, kind), name, "missing_required_parameter");
    return integer_in(j, name, 0, 1, INT64_MAX);
  };
  if (f.kind == FeedbackKind::kPair) {
    f.chosen_id = required_id("chosen_id");
    f.rejected_id = required_id("rejected_id");
    if (f.chosen_id == f.rejected_id) throw bad("rejected_id", "'rejected_id' must name another answer than 'chosen_id'");
  } else {
    f.message_id = required_id("message_id");
  }
  if (f.kind == FeedbackKind::kRating) {
    if (!field(j, "rating")) throw ApiError(400, "you must provide 'rating'", "rating", "missing_required_parameter");
    f.rating = static_cast<int>(integer_in(j, "rating", 0, -1, 1));
  }
  if (f.kind == FeedbackKind::kEdit) {
    const json* c = field(j, "content");
    if (!c) throw ApiError(400, "you must provide 'content' (kind \"edit\")", "content", "missing_required_parameter");
    if (!c->is_string()) throw bad("content", "'content' must be a string", "invalid_type");
    f.content = c->get<std::string>();
    if (f.content.find_first_not_of(" \t\r\n") == std::string::npos)
      throw bad("content", "'content' must not be empty: it is the corrected answer");
    if (f.content.size() > kMaxEditedAnswer)
      throw bad("content", fmt::format("'content' is longer than {} bytes", kMaxEditedAnswer));
  }
  if (const json* c = field(j, "comment")) {
    if (!c->is_string()) throw bad("comment", "'comment' must be a string", "invalid_type");
    f.comment = c->get<std::string>();
    if (f.comment.size() > kMaxFeedbackComment)
      throw bad("comment", fmt::format("'comment' is longer than {} bytes", kMaxFeedbackComment));
  }
  return f;
}

}  // namespace chatforge::serve
