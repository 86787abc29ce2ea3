// Server: HttpServer (cpp-httplib with bounded connections) -> screening of each request
// head before its body is read -> routes -> validation (api_request) -> the Scheduler (one
// engine thread) -> JSON or SSE responses; answers with a conversation_id go to the
// FeedbackStore.
#include "serve/server.h"

#include <httplib.h>
#include <malloc.h>

#include <chrono>
#include <csignal>
#include <ctime>
#include <nlohmann/json.hpp>
#include <random>

#include "core/error.h"
#include "serve/api_request.h"
#include "serve/body_framing.h"
#include "serve/favicon.h"
#include "serve/feedback_store.h"
#include "serve/http_server.h"
#include "serve/metrics.h"
#include "serve/scheduler.h"
#include "serve/web_assets.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/reasoning.h"

namespace chatforge::serve {
namespace {

using nlohmann::json;

std::string dump_json(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void send_json(httplib::Response& res, int status, const json& j) {
  res.status = status;
  res.set_content(dump_json(j), "application/json");
}

void send_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  res.set_content(dump_json(e.body()), "application/json");
}

// Equal-length comparison whose time does not depend on where the strings differ.
bool constant_time_equal(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

std::string random_id(const char* prefix) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return fmt::format("{}{:016x}", prefix, rng());
}

// The metrics label of a path: known endpoints by name, everything else "other".
std::string endpoint_label(const std::string& path) {
  for (const char* p : {"/v1/chat/completions", "/v1/completions", "/v1/models", "/v1/feedback", "/health",
                        "/metrics", "/", "/favicon.ico", "/ui/config"})
    if (path == p) return p;
  if (path.rfind("/v1/models/", 0) == 0) return "/v1/models";
  return "other";
}

thread_local double t_request_start = 0;

constexpr const char* kChatPath = "/v1/chat/completions";
constexpr const char* kCompletionsPath = "/v1/completions";
constexpr const char* kFeedbackPath = "/v1/feedback";

// The only requests that carry a body.
bool takes_body(const httplib::Request& req) {
  return req.method == "POST" && (req.path == kChatPath || req.path == kCompletionsPath || req.path == kFeedbackPath);
}

bool known_path(const std::string& path) {
  return endpoint_label(path) != "other" || path == "/index.html";
}

json logprobs_json(const std::vector<TokenInfo>& toks, size_t from, size_t to, bool chat, size_t text_offset) {
  if (chat) {
    json content = json::array();
    for (size_t i = from; i < to; ++i) {
      const auto& t = toks[i];
      json top = json::array();
      for (const auto& [s, lp] : t.top)
        top.push_back({{"token", s}, {"logprob", lp}, {"bytes", std::vector<uint8_t>(s.begin(), s.end())}});
      content.push_back({{"token", t.text},
                         {"logprob", t.logprob},
                         {"bytes", std::vector<uint8_t>(t.text.begin(), t.text.end())},
                         {"top_logprobs", top}});
    }
    return {{"content", content}};
  }
  json tokens = json::array(), lps = json::array(), tops = json::array(), offsets = json::array();
  size_t off = text_offset;
  for (size_t i = from; i < to; ++i) {
    const auto& t = toks[i];
    tokens.push_back(t.text);
    lps.push_back(t.logprob);
    json top = json::object();
    for (const auto& [s, lp] : t.top) top[s] = lp;
    tops.push_back(top);
    offsets.push_back(off);
    off += t.text.size();
  }
  return {{"tokens", tokens}, {"token_logprobs", lps}, {"top_logprobs", tops}, {"text_offset", offsets}};
}

}  // namespace

struct Server::Impl {
  ServerOptions opt;
  const tok::Tokenizer& tokenizer;
  const tok::ChatFormat& format;
  ModelInfo info;
  Scheduler scheduler;
  std::unique_ptr<FeedbackStore> store;
  Metrics metrics;
  HttpServer http;
  std::time_t created = std::time(nullptr);

  Impl(ServerOptions o, const model::Gpt& model, const tok::Tokenizer& t, const tok::ChatFormat& chat,
       std::vector<int32_t> stop_ids, const model::LoraBank* adapters)
      : opt(std::move(o)),
        tokenizer(t),
        format(chat),
        scheduler(model, t, with_end_of_turn(chat, std::move(stop_ids)), opt.parallel, opt.max_queue, opt.weights,
                  adapters),
        http(opt.limits) {
    // ids are validated against the tokenizer: ids past it (padding) are never sampled
    info = {opt.model_id, &tokenizer, &format, scheduler.context(),
            std::min(t.vocab_size(), model.config().vocab_size), opt.default_system, opt.context_policy, {},
            opt.reasoning_auto && chat.kind() != tok::ChatFormat::Kind::kPlain &&
                tok::detect_reasoning(t, chat.template_source())};
    for (int i = 0; adapters && i < adapters->size(); ++i) {
      CF_CHECK(adapters->name(i) != opt.model_id, "LoRA adapter '{}' has the base model's name", opt.model_id);
      info.adapters.push_back(adapters->name(i));
    }
    if (!opt.db.empty()) store = std::make_unique<FeedbackStore>(opt.db);
    routes();
  }

  static std::vector<int32_t> with_end_of_turn(const tok::ChatFormat& chat, std::vector<int32_t> ids) {
    for (int32_t id : chat.stop_ids())
      if (chat.kind() != tok::ChatFormat::Kind::kChatML || id != chat.im_start_id())
        if (std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
    return ids;
  }

  void routes() {
    // Every request head is screened before any of its body is read (and again for
    // "Expect: 100-continue", before the client is told to send it).
    http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
      t_request_start = Scheduler::now();
      return screen(req, res);
    });
    http.set_expect_100_continue_handler([this](const httplib::Request& req, httplib::Response& res) {
      return screen(req, res) == httplib::Server::HandlerResponse::Handled ? res.status : 100;
    });
    http.set_post_routing_handler([](const httplib::Request&, httplib::Response& res) {
      ConnContext* conn = HttpServer::current();
      if (!conn) return;
      conn->mark_busy();
      if (conn->closing() && !res.has_header("Connection")) {
        res.headers.erase("Keep-Alive");
        res.set_header("Connection", "close");
      }
    });
    http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
      metrics.record_request(endpoint_label(req.path), res.status, Scheduler::now() - t_request_start);
    });
    // Errors cpp-httplib answers itself (malformed heads, unknown paths) and the limits the
    // connection hit (ConnFault): an OpenAI error object; the connection closes unless the
    // request was read to its end.
    http.set_error_handler([this](const httplib::Request&, httplib::Response& res) {
      if (!res.body.empty()) return;
      ConnContext* conn = HttpServer::current();
      if (conn) {
        conn->mark_busy();
        const FaultAnswer a = fault_answer(conn->fault(), http.limits());
        if (a.status) {
          conn->close_after_response();
          return send_error(res, ApiError(a.status, a.message, "", a.code));
        }
        if (res.status != 404 && res.status != 405 && res.status != 416) conn->close_after_response();
      }
      std::string msg = fmt::format("HTTP {}", res.status);
      std::string code;
      if (res.status == 404) msg = "no such endpoint or page", code = "not_found";
      if (res.status == 405) msg = "method not allowed on this path", code = "method_not_allowed";
      if (res.status == 413) msg = "the request body is too large", code = "payload_too_large";
      if (res.status == 414) msg = "the request line is too long (8 KiB at most)", code = "uri_too_long";
      if (res.status == 416) msg = "malformed Range header", code = "range_not_satisfiable";
      if (res.status == 400) msg = "malformed HTTP request", code = "bad_request";
      send_error(res, ApiError(res.status, msg, "", code));
    });
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unknown error";
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      send_error(res, ApiError(500, "internal error: " + what, "", "internal_error", "server_error"));
    });

    http.Get("/", [](const httplib::Request&, httplib::Response& res) {
      const auto page = index_html();
      res.set_content(page.data(), page.size(), "text/html; charset=utf-8");
      res.set_header("Content-Security-Policy",
                     "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
                     "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'");
      res.set_header("X-Content-Type-Options", "nosniff");
    });
    http.Get("/index.html", [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/"); });
    http.Get("/favicon.ico", [](const httplib::Request&, httplib::Response& res) {
      const auto ico = favicon_ico();
      res.set_content(ico.data(), ico.size(), std::string(kFaviconContentType));
      res.set_header("Cache-Control", "max-age=86400");
      res.set_header("X-Content-Type-Options", "nosniff");
    });
    // What the web page shows besides the API: the model's name and the example questions
    // of an empty chat (serve --example). No auth, as the page and /health: it reads this
    // before an API key is typed in.
    http.Get("/ui/config", [this](const httplib::Request&, httplib::Response& res) {
      send_json(res, 200, {{"model", opt.model_id}, {"examples", opt.examples}, {"feedback", store != nullptr}});
    });
    http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
      send_json(res, 200,
                {{"status", "ok"},
                 {"model", opt.model_id},
                 {"running", scheduler.running()},
                 {"queued", scheduler.queued()},
                 {"parallel", opt.parallel},
                 {"feedback", store != nullptr}});
    });
    http.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      std::string text = metrics.render(scheduler.queued(), scheduler.running(), opt.parallel, opt.max_queue);
      text += "# HELP chatforge_generated_tokens_total Tokens sampled by the engine (cancelled requests included).\n"
              "# TYPE chatforge_generated_tokens_total counter\n";
      text += fmt::format("chatforge_generated_tokens_total {}\n", scheduler.tokens_generated());
      text += fmt::format(
          "# HELP chatforge_open_connections HTTP connections open now.\n"
          "# TYPE chatforge_open_connections gauge\nchatforge_open_connections {}\n"
          "# HELP chatforge_connections_evicted_total Unfinished connections closed to make room at --max-connections.\n"
          "# TYPE chatforge_connections_evicted_total counter\nchatforge_connections_evicted_total {}\n"
          "# HELP chatforge_connections_refused_total Connections answered 503 at --max-connections.\n"
          "# TYPE chatforge_connections_refused_total counter\nchatforge_connections_refused_total {}\n",
          http.open_connections(), http.evicted_connections(), http.refused_connections());
      text += render_batch_stats(scheduler.batch_stats());
      res.set_content(text, "text/plain; version=0.0.4");
    });
    http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
      json data = json::array({model_json(opt.model_id)});
      for (const auto& a : info.adapters) data.push_back(model_json(a));
      send_json(res, 200, {{"object", "list"}, {"data", data}});
    });
    http.Get(R"(/v1/models/(.+))", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string id = req.matches[1];
      if (id != opt.model_id && std::find(info.adapters.begin(), info.adapters.end(), id) == info.adapters.end())
        return send_error(res, ApiError(404, fmt::format("The model `{}` does not exist", id), "model",
                                        "model_not_found"));
      send_json(res, 200, model_json(id));
    });
    // POST bodies come through a ContentReader, so the limit holds for the decoded bytes of
    // any framing (cpp-httplib's own limit only sees Content-Length)
    http.Post(kChatPath, [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& r) {
      std::string body;
      if (read_body(req, res, r, body)) completion(body, res, true);
    });
    http.Post(kCompletionsPath,
              [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& r) {
                std::string body;
                if (read_body(req, res, r, body)) completion(body, res, false);
              });
    http.Post(kFeedbackPath,
              [this](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& r) {
                std::string body;
                if (read_body(req, res, r, body)) feedback(body, res);
              });
  }

  // Before the body: framing, API key, whether this path takes a body at all, its size.
  // A refusal while a declared body is still unread closes the connection after the answer
  // (its bytes would otherwise be read as the next request).
  httplib::Server::HandlerResponse screen(const httplib::Request& req, httplib::Response& res) {
    using R = httplib::Server::HandlerResponse;
    ConnContext* conn = HttpServer::current();
    BodyFraming f;
    auto refuse = [&](const ApiError& e, bool unread_body) {
      send_error(res, e);
      if (conn && unread_body) conn->close_after_response();
      return R::Handled;
    };
    if (auto e = parse_framing(req, f)) return refuse(*e, true);
    if (!opt.api_key.empty() && req.path.rfind("/v1", 0) == 0) {
      const std::string auth = req.get_header_value("Authorization");
      const std::string prefix = "Bearer ";
      const bool ok = auth.size() > prefix.size() && auth.compare(0, prefix.size(), prefix) == 0 &&
                      constant_time_equal(auth.substr(prefix.size()), opt.api_key);
      if (!ok)
        return refuse(ApiError(401, "incorrect or missing API key: send 'Authorization: Bearer KEY'", "",
                               "invalid_api_key", "invalid_request_error"),
                      f.declared());
    }
    if (!takes_body(req)) {
      if (req.method == "GET" || req.method == "HEAD") {
        // answered as usual; a body sent with it is not read, so the connection closes
        if (conn && f.declared()) conn->close_after_response();
        if (conn) conn->mark_busy();
        return R::Unhandled;
      }
      if (!known_path(req.path)) return refuse(ApiError(404, "no such endpoint or page", "", "not_found"), f.declared());
      res.set_header("Allow", req.path == kChatPath || req.path == kCompletionsPath || req.path == kFeedbackPath
                                  ? "POST"
                                  : "GET, HEAD");
      return refuse(ApiError(405, fmt::format("method {} not allowed on {}", req.method.substr(0, 20), req.path),
                             "", "method_not_allowed"),
                    f.declared());
    }
    if (!f.chunked && !f.has_length)
      return refuse(ApiError(411, "a request body needs a Content-Length (or Transfer-Encoding: chunked)", "",
                             "length_required"),
                    false);
    if (f.length > http.limits().max_body_bytes) return refuse(body_too_large(), true);
    return R::Unhandled;
  }

  ApiError body_too_large() const {
    return ApiError(413, fmt::format("the request body is larger than {} KiB (--max-body-kb)",
                                     http.limits().max_body_bytes / 1024),
                    "", "payload_too_large");
  }

  // Reads a POST body of at most max_body_bytes decoded bytes into `body`; false after
  // answering 413 (too large), 408 (too slow) or 400 (malformed chunks, cut off).
  bool read_body(const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader,
                 std::string& body) {
    ConnContext* conn = HttpServer::current();
    const size_t max = http.limits().max_body_bytes;
    const std::string length = req.get_header_value("Content-Length");
    if (!length.empty()) body.reserve(std::min<uint64_t>(std::stoull(length), max));  // checked by screen()
    bool too_large = false;
    const bool ok = reader([&](const char* data, size_t n) {
      if (n > max - body.size()) {
        too_large = true;
        return false;
      }
      body.append(data, n);
      return true;
    });
    if (conn) {
      conn->mark_busy();
      if (body.capacity() >= 256 * 1024) conn->note_large_request();
    }
    if (ok && !too_large) return true;
    if (conn) conn->close_after_response();
    ApiError e = too_large ? body_too_large()
                           : ApiError(400, "the request body is malformed or ended early", "", "bad_request");
    if (conn) {
      const FaultAnswer a = fault_answer(conn->fault(), http.limits());
      if (a.status) e = ApiError(a.status, a.message, "", a.code);
    }
    send_error(res, e);
    return false;
  }

  // The base model (id == model_id) or a LoRA adapter over it (extension: "parent" = the base).
  json model_json(const std::string& id) const {
    json m = {{"id", id},
              {"object", "model"},
              {"created", created},
              {"owned_by", "chatforge"},
              {"context_length", scheduler.context()}};
    if (id != opt.model_id) m["parent"] = opt.model_id;
    return m;
  }

  // POST /v1/feedback: a rating, a compared pair or an edit (parse_feedback_request), each
  // one write to the store; the answer echoes what was stored.
  void feedback(const std::string& body, httplib::Response& res) {
    try {
      if (!store) throw ApiError(404, "feedback is not enabled: start the server with --db FILE", "", "no_feedback_db");
      const FeedbackRequest f = parse_feedback_request(body);
      json out = {{"object", "feedback"}, {"kind", feedback_kind_name(f.kind)}, {"comment", f.comment}};
      try {
        if (f.kind == FeedbackKind::kRating) {
          if (!store->rate(f.message_id, f.rating, f.comment))
            throw ApiError(404, fmt::format("no answer with message_id {}", f.message_id), "message_id", "not_found");
          out["message_id"] = f.message_id;
          out["rating"] = f.rating;
        } else if (f.kind == FeedbackKind::kPair) {
          out["id"] = store->add_pair(f.chosen_id, f.rejected_id, f.comment);
          out["chosen_id"] = f.chosen_id;
          out["rejected_id"] = f.rejected_id;
        } else {
          out["id"] = store->add_edit(f.message_id, f.content, f.comment);
          out["message_id"] = f.message_id;
        }
      } catch (const FeedbackRefused& e) {
        throw ApiError(e.status, e.what(), e.param, e.status == 404 ? "not_found" : "invalid_value");
      }
      send_json(res, 200, out);
    } catch (const ApiError& e) {
      send_error(res, e);
    }
  }

  // Records a finished choice when the request carried a conversation_id; returns the id.
  json record(const CompletionRequest& cr, const std::string& answer) {
    if (!store || !cr.chat || cr.conversation_id.empty()) return json();
    try {
      return store->record_answer(cr.conversation_id, cr.model, cr.messages, cr.system_prompt, answer,
                                 cr.sampling_json);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "warning: feedback store: %s\n", e.what());
      return json();
    }
  }

  void completion(std::string& body, httplib::Response& res, bool chat) {
    std::shared_ptr<CompletionRequest> cr;
    try {
      cr = std::make_shared<CompletionRequest>(parse_completion_request(body, chat, info));
    } catch (const ApiError& e) {
      return send_error(res, e);
    }
    std::string().swap(body);  // parsed: not held while the answer is generated
    auto g = std::make_shared<JobGroup>();
    g->prompt = cr->prompt;
    g->sampling = cr->sampling;
    g->max_tokens = cr->max_tokens;
    g->stops = cr->stop;
    g->want_logprobs = cr->logprobs;
    g->adapter = cr->adapter;
    g->choices.resize(static_cast<size_t>(cr->n));
    if (!scheduler.enqueue(g)) {
      const int wait = 1 + scheduler.queued() / std::max(1, opt.parallel);
      res.set_header("Retry-After", std::to_string(wait));
      return send_error(res, ApiError(429, "the server is busy (queue full); retry later", "", "queue_full",
                                      "rate_limit_error"));
    }
    // --context-policy truncate-oldest left out this many messages (also usage.truncated_messages)
    if (cr->truncated_messages > 0) res.set_header("X-Chatforge-Context-Truncated", std::to_string(cr->truncated_messages));
    const std::string id = random_id(chat ? "chatcmpl-" : "cmpl-");
    const std::time_t created_at = std::time(nullptr);
    if (!cr->stream) return respond_whole(res, *cr, g, id, created_at);
    respond_stream(res, cr, g, id, created_at);
  }

  json usage_json(const CompletionRequest& cr, const JobGroup& g) const {
    int completion = 0;
    for (const auto& c : g.choices) completion += c.completion_tokens;
    const int prompt = static_cast<int>(cr.prompt.size());
    json u = {{"prompt_tokens", prompt}, {"completion_tokens", completion}, {"total_tokens", prompt + completion}};
    if (cr.truncated_messages > 0) u["truncated_messages"] = cr.truncated_messages;  // extension
    return u;
  }

  void respond_whole(httplib::Response& res, const CompletionRequest& cr, const std::shared_ptr<JobGroup>& g,
                     const std::string& id, std::time_t created_at) {
    {
      std::unique_lock<std::mutex> lk(g->mu);
      g->cv.wait(lk, [&] { return g->all_done(); });
    }
    json choices = json::array();
    for (size_t i = 0; i < g->choices.size(); ++i) {
      const ChoiceState& c = g->choices[i];
      if (!c.error.empty())
        return send_error(res, ApiError(500, "generation failed: " + c.error, "", "generation_failed", "server_error"));
      json lp = cr.logprobs ? logprobs_json(c.tokens, 0, c.tokens.size(), cr.chat, 0) : json();
      tok::ReasoningText split{"", c.text};
      if (cr.reasoning) split = tok::split_reasoning(c.text, cr.reasoning_opened);
      json message = {{"role", "assistant"}, {"content", split.content}};
      if (!split.reasoning.empty()) message["reasoning_content"] = split.reasoning;
      json ch = cr.chat ? json{{"index", i}, {"message", message}, {"logprobs", lp}, {"finish_reason", c.finish_reason}}
                        : json{{"index", i}, {"text", c.text}, {"logprobs", lp}, {"finish_reason", c.finish_reason}};
      json mid = record(cr, split.content);  // the answer, without the thinking
      if (!mid.is_null()) ch["message_id"] = mid;
      choices.push_back(std::move(ch));
    }
    const json usage = usage_json(cr, *g);
    metrics.add_tokens(usage["prompt_tokens"].get<int>(), usage["completion_tokens"].get<int>());
    send_json(res, 200,
              {{"id", id},
               {"object", cr.chat ? "chat.completion" : "text_completion"},
               {"created", created_at},
               {"model", cr.model},
               {"system_fingerprint", nullptr},
               {"choices", choices},
               {"usage", usage}});
  }

  // Server-Sent Events: one chunk per batch of new text per choice, a final chunk with
  // finish_reason per choice, optionally a usage chunk, then "data: [DONE]".
  void respond_stream(httplib::Response& res, std::shared_ptr<CompletionRequest> cr, std::shared_ptr<JobGroup> g,
                      const std::string& id, std::time_t created_at) {
    struct StreamState {
      std::vector<bool> started, finished;
      std::vector<tok::ReasoningSplitter> splitters;  // per choice, when cr->reasoning
      std::vector<std::string> answers;               // per choice: the content sent (recorded)
      bool completed = false;
    };
    auto st = std::make_shared<StreamState>();
    st->started.assign(g->choices.size(), false);
    st->finished.assign(g->choices.size(), false);
    st->splitters.assign(g->choices.size(), tok::ReasoningSplitter(cr->reasoning_opened));
    st->answers.assign(g->choices.size(), "");
    // a chat delta: the reasoning and the answer parts of new text (either may be absent)
    auto delta_of = [cr](const tok::ReasoningText& t) {
      json d = json::object();
      if (!t.reasoning.empty()) d["reasoning_content"] = t.reasoning;
      if (!t.content.empty() || !cr->reasoning) d["content"] = t.content;
      return d;
    };
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    auto chunk = [cr, id, created_at](json choice) {
      json j = {{"id", id},
                {"object", cr->chat ? "chat.completion.chunk" : "text_completion"},
                {"created", created_at},
                {"model", cr->model},
                {"system_fingerprint", nullptr},
                {"choices", json::array({std::move(choice)})}};
      return "data: " + dump_json(j) + "\n\n";
    };
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, cr, g, st, chunk, delta_of, id, created_at](size_t, httplib::DataSink& sink) {
          std::string out;
          bool all_finished = true;
          {
            std::unique_lock<std::mutex> lk(g->mu);
            auto has_news = [&] {
              for (size_t i = 0; i < g->choices.size(); ++i) {
                const auto& c = g->choices[i];
                if (!st->started[i] || c.sent < c.text.size() || (c.done && !st->finished[i])) return true;
              }
              return false;
            };
            g->cv.wait_for(lk, std::chrono::milliseconds(250), has_news);
            for (size_t i = 0; i < g->choices.size(); ++i) {
              ChoiceState& c = g->choices[i];
              if (st->finished[i]) continue;
              if (!c.error.empty()) {
                out += "data: " +
                       dump_json(ApiError(500, "generation failed: " + c.error, "", "generation_failed", "server_error")
                                .body()) +
                       "\n\n";
                st->finished[i] = true;
                continue;
              }
              if (!st->started[i]) {
                st->started[i] = true;
                if (cr->chat)
                  out += chunk({{"index", i},
                                {"delta", {{"role", "assistant"}, {"content", ""}}},
                                {"logprobs", nullptr},
                                {"finish_reason", nullptr}});
              }
              if (c.sent < c.text.size() || c.tokens_sent < c.tokens.size()) {
                const std::string piece = c.text.substr(c.sent);
                json lp = cr->logprobs ? logprobs_json(c.tokens, c.tokens_sent, c.tokens.size(), cr->chat, c.sent)
                                       : json();
                c.sent = c.text.size();
                c.tokens_sent = c.tokens.size();
                tok::ReasoningText part{"", piece};
                if (cr->reasoning) part = st->splitters[i].push(piece);
                st->answers[i] += part.content;
                json d = delta_of(part);
                // held back (a tag, or whitespace) and no logprobs to send: no chunk yet
                if (!cr->chat || !d.empty() || cr->logprobs)
                  out += chunk(cr->chat ? json{{"index", i}, {"delta", d}, {"logprobs", lp}, {"finish_reason", nullptr}}
                                        : json{{"index", i}, {"text", piece}, {"logprobs", lp}, {"finish_reason", nullptr}});
              }
              if (c.done) {
                st->finished[i] = true;
                if (cr->reasoning) {  // what the splitter still held (an unclosed block's tail)
                  const tok::ReasoningText rest = st->splitters[i].finish();
                  st->answers[i] += rest.content;
                  if (!rest.reasoning.empty() || !rest.content.empty())
                    out += chunk({{"index", i}, {"delta", delta_of(rest)}, {"logprobs", nullptr}, {"finish_reason", nullptr}});
                }
                json fin = cr->chat ? json{{"index", i}, {"delta", json::object()}, {"logprobs", nullptr},
                                           {"finish_reason", c.finish_reason}}
                                    : json{{"index", i}, {"text", ""}, {"logprobs", nullptr},
                                           {"finish_reason", c.finish_reason}};
                const std::string text = cr->reasoning ? st->answers[i] : c.text;  // the answer, without the thinking
                lk.unlock();
                json mid = record(*cr, text);
                lk.lock();
                if (!mid.is_null()) fin["message_id"] = mid;
                out += chunk(fin);
              } else {
                all_finished = false;
              }
            }
          }
          if (all_finished) {
            const json usage = usage_json(*cr, *g);
            metrics.add_tokens(usage["prompt_tokens"].get<int>(), usage["completion_tokens"].get<int>());
            if (cr->include_usage)
              out += "data: " +
                     dump_json({{"id", id},
                           {"object", cr->chat ? "chat.completion.chunk" : "text_completion"},
                           {"created", created_at},
                           {"model", cr->model},
                           {"choices", json::array()},
                           {"usage", usage}}) +
                     "\n\n";
            out += "data: [DONE]\n\n";
          }
          if (!out.empty() && !sink.write(out.data(), out.size())) {
            g->cancel.store(true);  // the client went away: free the slot now
            return false;
          }
          if (all_finished) {
            st->completed = true;
            sink.done();
          }
          return true;
        },
        [g, st](bool success) {
          if (!success || !st->completed) g->cancel.store(true);
        });
  }
};

Server::Server(ServerOptions options, const model::Gpt& model, const tok::Tokenizer& tokenizer,
               const tok::ChatFormat& chat, std::vector<int32_t> stop_ids, const model::LoraBank* adapters)
    : impl_(std::make_unique<Impl>(std::move(options), model, tokenizer, chat, std::move(stop_ids), adapters)) {
  // cpp-httplib writes with send() without MSG_NOSIGNAL: a client that hangs up mid-stream
  // must make the write fail (and free the slot), not kill the process with SIGPIPE.
  std::signal(SIGPIPE, SIG_IGN);
  // glibc gives threads their own malloc arenas (up to 8 per core) and keeps what is freed
  // in each: a burst of large request bodies over hundreds of connection threads stayed
  // resident (1.6 GB in issue #19). Four arenas bound that retention (HttpServer also calls
  // malloc_trim after large requests); the engine's threads allocate too little to contend.
  mallopt(M_ARENA_MAX, 4);
}

Server::~Server() = default;

int Server::bind() {
  auto& o = impl_->opt;
  int port = -1;
  if (o.port == 0) {
    port = impl_->http.bind_to_any_port(o.host);
  } else {
    port = impl_->http.bind_to_port(o.host, o.port) ? o.port : -1;
  }
  CF_CHECK(port > 0, "cannot listen on {}:{} (address in use or not available)", o.host, o.port);
  impl_->http.widen_backlog();
  return port;
}

void Server::run() { impl_->http.listen_after_bind(); }
void Server::stop() { impl_->http.stop(); }

}  // namespace chatforge::serve
