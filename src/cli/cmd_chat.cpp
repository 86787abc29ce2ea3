// `chatforge chat`: an interactive REPL over the chat template. Each turn is rendered with
// ChatFormat (the one template), the answer streams as it is generated (UTF-8 safe) and
// joins the history. Commands: /reset /system /save /load /set /help /quit.
// Ctrl-C during an answer stops that answer (the partial text stays in the history); at
// the prompt it discards the line, and a second Ctrl-C in a row exits. When stdin is not a
// terminal there is no prompt: each input line gets one answer line (scriptable).
// A reasoning model's <think> block (tokenizer/reasoning.h) is shown apart from the answer
// (--reasoning show: "thinking: ..." dimmed on a terminal, then the answer on a new line;
// hide: not shown; raw: verbatim, tags included) and kept in the history as the message's
// reasoning_content, which the model's template renders or drops as it does.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "cli/generation_options.h"
#include "core/error.h"
#include "core/file_io.h"
#include "core/json_util.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/reasoning.h"

namespace chatforge::cli {
namespace {

std::atomic<bool> g_cancel{false};
std::atomic<int> g_interrupts{0};
void on_sigint(int) {
  g_cancel.store(true);
  g_interrupts.fetch_add(1);
}

// Reads lines from fd 0 with read(2), so a Ctrl-C (EINTR) is seen at once.
class LineReader {
 public:
  enum class Status { kLine, kEof, kInterrupted };
  Status next(std::string& line) {
    line.clear();
    for (;;) {
      const size_t nl = buf_.find('\n');
      if (nl != std::string::npos) {
        line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return Status::kLine;
      }
      char tmp[4096];
      const ssize_t n = ::read(0, tmp, sizeof tmp);
      if (n < 0 && errno == EINTR) {
        buf_.clear();  // the terminal discards the typed line too
        return Status::kInterrupted;
      }
      if (n <= 0) {
        if (buf_.empty()) return Status::kEof;
        line.swap(buf_);
        return Status::kLine;
      }
      buf_.append(tmp, static_cast<size_t>(n));
    }
  }

 private:
  std::string buf_;
};

struct ChatArgs {
  GenerationOptions gen;
  std::string system;
  bool verbose = false;
  std::string reasoning = "show";  // show | hide | raw (the flag's IsMember checks it)
};

constexpr const char* kHelp =
    "commands:\n"
    "  /reset             forget the conversation (keeps the system prompt)\n"
    "  /system TEXT       set the system prompt (empty TEXT removes it)\n"
    "  /save FILE         save the conversation as JSON (OpenAI messages format)\n"
    "  /load FILE         load a conversation saved by /save\n"
    "  /set NAME VALUE    change a setting, e.g. /set temperature 0.7 (/set alone lists them)\n"
    "  /help              this help\n"
    "  /quit              exit (also Ctrl-D; Ctrl-C twice at the prompt)\n"
    "Ctrl-C while an answer is streaming stops that answer.\n";

class ChatSession {
 public:
  ChatSession(ChatArgs& a, LoadedModel& lm)
      : a_(a),
        lm_(lm),
        format_(*lm.chat),
        engine_(*lm.model, 1, 0, a.gen.weight_format()),
        tty_(::isatty(0) == 1),
        color_(::isatty(1) == 1),
        reasoning_(a.reasoning != "raw" && format_.kind() != tok::ChatFormat::Kind::kPlain &&
                   tok::detect_reasoning(*lm.tokenizer, format_.template_source())) {
    if (!a.system.empty()) messages_.push_back({"system", a.system});
  }

  void run() {
    struct sigaction sa {};
    sa.sa_handler = on_sigint;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: a blocked read returns EINTR
    struct sigaction old {};
    sigaction(SIGINT, &sa, &old);
    try {
      loop();
    } catch (...) {
      sigaction(SIGINT, &old, nullptr);
      throw;
    }
    sigaction(SIGINT, &old, nullptr);
  }

 private:
  void loop() {
    if (tty_)
      std::printf("chatforge chat: %s (context %d tokens). /help for commands, /quit to exit.\n",
                  a_.gen.model_dir.c_str(), engine_.context());
    LineReader reader;
    std::string line;
    for (;;) {
      if (tty_) {
        std::printf("> ");
        std::fflush(stdout);
      }
      g_interrupts.store(0);
      const auto st = reader.next(line);
      if (st == LineReader::Status::kEof) break;
      if (st == LineReader::Status::kInterrupted) {
        if (interrupted_at_prompt_) {
          std::printf("\n");
          break;
        }
        interrupted_at_prompt_ = true;
        std::printf("\n(Ctrl-C again or /quit to exit)\n");
        continue;
      }
      interrupted_at_prompt_ = false;
      if (line.empty()) continue;
      if (line[0] == '/') {
        if (!command(line)) break;
        continue;
      }
      answer(line);
    }
  }

  // Returns false on /quit.
  bool command(const std::string& line) {
    const size_t sp = line.find(' ');
    const std::string name = line.substr(0, sp);
    const size_t arg_start = sp == std::string::npos ? std::string::npos : line.find_first_not_of(' ', sp);
    const std::string arg = arg_start == std::string::npos ? "" : line.substr(arg_start);
    try {
      if (name == "/quit" || name == "/exit") return false;
      if (name == "/help") {
        std::printf("%s", kHelp);
      } else if (name == "/reset") {
        std::erase_if(messages_, [](const tok::ChatMessage& m) { return m.role != "system"; });
        std::printf("(conversation reset)\n");
      } else if (name == "/system") {
        std::erase_if(messages_, [](const tok::ChatMessage& m) { return m.role == "system"; });
        if (!arg.empty()) messages_.insert(messages_.begin(), tok::ChatMessage{"system", arg});
        std::fputs(arg.empty() ? "(system prompt removed)\n" : "(system prompt set)\n", stdout);
      } else if (name == "/save") {
        if (arg.empty()) usage_fail("usage: /save FILE");
        nlohmann::ordered_json j = nlohmann::ordered_json::array();
        for (const auto& m : messages_) {
          j.push_back({{"role", m.role}, {"content", m.content}});
          if (m.reasoning_content) j.back()["reasoning_content"] = *m.reasoning_content;
        }
        write_file_atomic(arg, j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
        std::printf("(saved %zu messages to %s)\n", messages_.size(), arg.c_str());
      } else if (name == "/load") {
        if (arg.empty()) usage_fail("usage: /load FILE");
        load(arg);
        std::printf("(loaded %zu messages from %s)\n", messages_.size(), arg.c_str());
      } else if (name == "/set") {
        if (arg.empty()) {
          std::printf("%s\n", describe_generation_values(a_.gen).c_str());
        } else {
          const size_t s2 = arg.find(' ');
          if (s2 == std::string::npos) usage_fail("usage: /set NAME VALUE, e.g. /set temperature 0.7");
          set_generation_value(a_.gen, arg.substr(0, s2), arg.substr(s2 + 1), lm_.tokenizer->vocab_size());
          std::printf("(%s)\n", describe_generation_values(a_.gen).c_str());
        }
      } else {
        usage_fail("unknown command {} (/help lists them)", name);
      }
    } catch (const Error& e) {
      std::fflush(stdout);
      std::fprintf(stderr, "error: %s\n", e.what());
    }
    std::fflush(stdout);
    return true;
  }

  void load(const std::string& path) {
    nlohmann::json j = parse_json(read_file(path), path);
    if (j.is_object() && j.contains("messages")) j = j["messages"];
    CF_CHECK(j.is_array(), "{}: expected a JSON array of messages", path);
    std::vector<tok::ChatMessage> msgs;
    for (size_t i = 0; i < j.size(); ++i) {
      const auto& m = j[i];
      CF_CHECK(m.is_object() && m.contains("role") && m["role"].is_string() && m.contains("content") &&
                   m["content"].is_string(),
               "{}: message {} needs string fields \"role\" and \"content\"", path, i);
      msgs.push_back({m["role"].get<std::string>(), m["content"].get<std::string>(), std::nullopt});
      if (m.contains("reasoning_content") && !m["reasoning_content"].is_null()) {
        CF_CHECK(m["reasoning_content"].is_string(), "{}: message {}: \"reasoning_content\" must be a string", path, i);
        msgs.back().reasoning_content = m["reasoning_content"].get<std::string>();
      }
    }
    format_.render(msgs, true);  // validates roles and order
    messages_ = std::move(msgs);
  }

  // Renders the conversation, dropping the oldest turns if the policy allows, so that
  // room for an answer remains. Returns false (message printed) when it cannot fit.
  bool render_fitting(std::vector<int32_t>& ids) {
    const int ctx = engine_.context();
    const int reserve = std::max(1, std::min(a_.gen.max_tokens > 0 ? a_.gen.max_tokens : ctx / 4, ctx / 4));
    for (;;) {
      ids = format_.render(messages_, true).ids;
      if (static_cast<int>(ids.size()) + reserve <= ctx) return true;
      const size_t first = !messages_.empty() && messages_[0].role == "system" ? 1 : 0;
      const bool can_drop = a_.gen.policy() == infer::ContextPolicy::kTruncateOldest && messages_.size() > first + 1;
      if (!can_drop) {
        std::fflush(stdout);
        std::fprintf(stderr,
                     "error: the conversation needs %zu tokens plus %d for the answer, but the context holds %d "
                     "(use /reset, or --context-policy truncate-oldest)\n",
                     ids.size(), reserve, ctx);
        return false;
      }
      // drop the oldest turn: a user message and the assistant answer after it
      messages_.erase(messages_.begin() + first);
      if (messages_.size() > first + 1 && messages_[first].role == "assistant")
        messages_.erase(messages_.begin() + first);
      ++dropped_;
    }
  }

  void answer(const std::string& user_text) {
    g_cancel.store(false);  // from here on a Ctrl-C cancels this answer, even during its prefill
    messages_.push_back({"user", user_text});
    std::vector<int32_t> ids;
    if (!render_fitting(ids)) {
      messages_.pop_back();
      return;
    }
    if (dropped_ > 0 && a_.verbose) std::fprintf(stderr, "[dropped %d oldest turns to fit the context]\n", dropped_);
    dropped_ = 0;
    infer::GenerationRequest req;
    req.prompt = std::move(ids);
    req.sampling = a_.gen.sampling;
    req.max_new_tokens = a_.gen.max_tokens;
    req.stop_ids = lm_.stop_ids;
    for (int32_t id : format_.stop_ids()) req.stop_ids.push_back(id);  // ChatML: <|im_end|>, <|im_start|>
    req.sample_vocab_size = lm_.tokenizer->vocab_size();
    req.sampling.seed = a_.gen.sampling.seed + turn_++;  // reproducible per turn, not identical across turns
    std::vector<std::string> stops = a_.gen.stop;
    for (const auto& s : format_.stop_strings()) stops.push_back(s);
    const size_t tail = std::min<size_t>(req.prompt.size(), 16);
    tok::ReasoningSplitter splitter(reasoning_ && tok::prompt_opens_reasoning(lm_.tokenizer->decode(
                                                      std::vector<int32_t>(req.prompt.end() - static_cast<long>(tail),
                                                                           req.prompt.end()))));
    tok::ReasoningText said;  // the whole answer, split
    bool thinking_shown = false, answer_started = false;
    auto show = [&](const tok::ReasoningText& t) {
      said.reasoning += t.reasoning;
      said.content += t.content;
      if (!t.reasoning.empty() && a_.reasoning == "show") {
        if (!thinking_shown) std::fputs(color_ ? "\033[2mthinking: " : "thinking: ", stdout);
        thinking_shown = true;
        std::fwrite(t.reasoning.data(), 1, t.reasoning.size(), stdout);
      }
      if (!t.content.empty()) {
        if (thinking_shown && !answer_started) std::fputs(color_ ? "\033[0m\n" : "\n", stdout);
        answer_started = true;
        std::fwrite(t.content.data(), 1, t.content.size(), stdout);
      }
      std::fflush(stdout);
    };
    TextStreamer streamer(*lm_.tokenizer, stops, stdout);
    if (reasoning_) streamer.set_sink([&](const std::string& s) { show(splitter.push(s)); });
    req.on_token = [&](int32_t id, const infer::SampledLogprobs*) { return streamer.on_token(id); };
    req.cancel = &g_cancel;
    infer::GenerationResult r;
    try {
      r = engine_.generate(std::move(req));
    } catch (const Error& e) {  // report, drop the turn, keep the session
      std::fflush(stdout);
      std::fprintf(stderr, "\nerror: %s\n", e.what());
      messages_.pop_back();
      return;
    }
    streamer.finish();
    if (reasoning_) show(splitter.finish());
    if (thinking_shown && !answer_started && color_) std::fputs("\033[0m", stdout);
    g_cancel.store(false);
    if (r.finish == infer::FinishReason::kCancelled) std::printf(" [interrupted]");
    std::printf("\n");
    std::fflush(stdout);
    if (reasoning_) {  // the answer; its thinking as reasoning_content (the template decides)
      messages_.push_back({"assistant", said.content, std::nullopt});
      if (!said.reasoning.empty()) messages_.back().reasoning_content = said.reasoning;
    } else {
      messages_.push_back({"assistant", streamer.text()});
    }
    if (a_.verbose) {
      const double dec = r.decode_seconds > 0 && r.completion_tokens > 1 ? (r.completion_tokens - 1) / r.decode_seconds : 0;
      std::fprintf(stderr, "[%d prompt (%d reused from the cache) + %d completion tokens, finish %s, decode %.1f tok/s]\n",
                   r.prompt_tokens, r.cached_prompt_tokens, r.completion_tokens, infer::finish_reason_name(r.finish), dec);
    }
  }

  ChatArgs& a_;
  LoadedModel& lm_;
  tok::ChatFormat format_;
  infer::Engine engine_;
  bool tty_;
  bool color_;      // stdout is a terminal: reasoning is dimmed
  bool reasoning_;  // split <think> blocks off the answer (a reasoning model, --reasoning show|hide)
  bool interrupted_at_prompt_ = false;
  std::vector<tok::ChatMessage> messages_;
  uint64_t turn_ = 0;
  int dropped_ = 0;
};

void setup_chat(CLI::App& cmd) {
  auto a = std::make_shared<ChatArgs>();
  add_generation_options(cmd, a->gen);
  cmd.add_option("--system", a->system, "system prompt (default: none)");
  cmd.add_flag("--verbose", a->verbose, "token counts and speed after each answer (stderr)");
  cmd.add_option("--reasoning", a->reasoning,
                 "a reasoning model's <think> block: show prints it first as 'thinking: ...' (dimmed on a terminal) "
                 "and the answer on a new line, hide does not print it, raw prints the text verbatim (tags "
                 "included); show and hide keep it in the history as reasoning_content")
      ->check(CLI::IsMember({"show", "hide", "raw"}))
      ->capture_default_str();
  add_config_option(cmd);
  cmd.callback([a] {
    LoadedModel lm = load_model_and_tokenizer(a->gen);
    a->gen.validate(lm.tokenizer->vocab_size());
    interop::use_plain_chat_if_none(lm, a->gen.model_dir);
    ChatSession session(*a, lm);
    session.run();
  });
}

}  // namespace
CF_REGISTER_COMMAND({"chat", "talk to a model in the terminal (chat template, streaming, history)", setup_chat, 61});
}  // namespace chatforge::cli
