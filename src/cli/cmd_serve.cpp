// `chatforge serve`: the OpenAI-compatible HTTP server with the web chat page and the
// feedback store (src/serve). Prints the address it listens on (with --port 0, the port
// the OS picked) and serves until SIGINT/SIGTERM. --lora NAME=DIR[:SCALE] serves LoRA adapters
// over the one base, each under its name, batched together (model/lora_bank.h).
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <thread>
#include <vector>

#include "cli/command.h"
#include "cli/common_flags.h"
#include "cli/generation_options.h"
#include "cli/option_checks.h"
#include "core/error.h"
#include "core/file_io.h"
#include "model/lora_bank.h"
#include "model/lora_io.h"
#include "serve/server.h"

namespace chatforge::cli {
namespace {

struct ServeArgs {
  GenerationOptions gen;  // only model_dir, tokenizer, threads, weights_dtype are used
  serve::ServerOptions server;
  std::string api_key_file;
  size_t max_body_kb = 1024;
  size_t max_header_kb = 32;
  int max_connections = 0;  // 0: the default (see run_serve())
  std::string context_policy = "truncate-oldest";  // checked by the flag's IsMember
  std::string reasoning_format = "auto";           // checked by the flag's IsMember
  std::vector<std::string> examples;  // --example; none given: kDefaultExamples
  std::vector<std::string> lora;      // --lora NAME=DIR[:SCALE] | DIR[:SCALE]
};

// "NAME=DIR[:SCALE]" -> (NAME, DIR, SCALE); "DIR[:SCALE]" -> (DIR's last name, DIR, SCALE).
// "writer=runs/lora_w/last:0.5" -> ("writer", "runs/lora_w/last", 0.5); "ads/poet/" -> ("poet", "ads/poet/", 1).
struct NamedLora {
  std::string name;
  model::LoraSpec spec;
};
NamedLora parse_named_lora(const std::string& arg) {
  NamedLora n;
  const size_t eq = arg.find('=');
  const bool named = eq != std::string::npos && arg.substr(0, eq).find('/') == std::string::npos;
  n.spec = model::parse_lora_spec(named ? arg.substr(eq + 1) : arg);
  if (named) {
    n.name = arg.substr(0, eq);
  } else {
    std::string dir = n.spec.dir;
    while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
    n.name = dir.substr(dir.find_last_of('/') + 1);  // npos + 1 == 0: the whole name
  }
  if (n.name.empty() || n.spec.dir.empty()) usage_fail("--lora {}: expected NAME=DIR[:SCALE] or DIR[:SCALE]", arg);
  return n;
}

// The adapters of --lora over the loaded base (lora_io's checks: a bad one is a one-line error).
std::unique_ptr<model::LoraBank> load_adapters(const std::vector<std::string>& args, const model::Gpt& base,
                                               const std::string& base_id) {
  if (args.empty()) return nullptr;
  auto bank = std::make_unique<model::LoraBank>(base);
  for (const std::string& arg : args) {
    const NamedLora n = parse_named_lora(arg);
    if (n.name == base_id) usage_fail("--lora {}: the name '{}' is the base model's (--model-name)", arg, n.name);
    if (bank->find(n.name) >= 0) usage_fail("--lora {}: a second adapter named '{}'", arg, n.name);
    try {
      bank->load(n.name, n.spec.dir, n.spec.scale);
    } catch (const Error& e) {  // lora_io's messages name the file; else say which flag
      if (std::string(e.what()).find(n.spec.dir) != std::string::npos) throw;
      fail("--lora {}: {}", arg, e.what());
    }
  }
  return bank;
}

// The default model id: the checkpoint directory's name, with its run's name in front when
// the name alone says only which checkpoint of a run it is.
// "runs/nimbus" -> "nimbus"; "demo/runs/sft/last" -> "sft/last"; "sft/step_00000400/" -> "sft/step_00000400".
std::string model_id_from_dir(std::string dir) {
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  const size_t slash = dir.find_last_of('/');
  const std::string base = slash == std::string::npos ? dir : dir.substr(slash + 1);
  if (slash == std::string::npos || slash == 0 || (base != "last" && base != "best" && base.rfind("step_", 0) != 0))
    return base;
  const size_t before = dir.find_last_of('/', slash - 1);
  const size_t start = before == std::string::npos ? 0 : before + 1;
  const std::string run = dir.substr(start, slash - start);
  return run.empty() || run == "." || run == ".." ? base : run + "/" + base;
}

// The web page's example questions when serve has no --example (one English, one Chinese).
const std::vector<std::string> kDefaultExamples = {"Hello! What can you help me with?", "你好！请介绍一下你自己。"};

void run_serve(ServeArgs& a) {
  auto& o = a.server;
  if (!o.api_key.empty() && !a.api_key_file.empty()) usage_fail("give at most one of --api-key and --api-key-file");
  if (!a.api_key_file.empty()) {
    CF_CHECK(file_exists(a.api_key_file), "API key file {} does not exist", a.api_key_file);
    o.api_key = read_file(a.api_key_file);
    while (!o.api_key.empty() && std::isspace(static_cast<unsigned char>(o.api_key.back()))) o.api_key.pop_back();
    CF_CHECK(!o.api_key.empty(), "API key file {} is empty", a.api_key_file);
  }
  if (o.parallel < 1 || o.parallel > 256) usage_fail("--batch-size must be 1..256, got {}", o.parallel);
  if (o.max_queue < 0 || o.max_queue > 10000) usage_fail("--max-queue must be 0..10000, got {}", o.max_queue);
  if (o.port < 0 || o.port > 65535) usage_fail("--port must be 0..65535, got {}", o.port);
  // the limit flags' ranges are checked by set_ranges (below)
  auto& l = o.limits;
  if (a.max_body_kb < 1 || a.max_body_kb > 1024 * 1024) usage_fail("--max-body-kb must be 1..1048576, got {}", a.max_body_kb);
  l.max_body_bytes = a.max_body_kb * 1024;
  l.max_head_bytes = a.max_header_kb * 1024;
  // Every connection is a thread and a socket; sockets numbered 1024 and above are refused
  // by cpp-httplib's select()-based check, so the cap stays well below that (900).
  l.max_connections = a.max_connections > 0 ? a.max_connections
                                            : std::min(900, std::max(256, o.parallel + o.max_queue + 32));
  if (o.model_id.empty()) o.model_id = model_id_from_dir(a.gen.model_dir);
  // --example "" (alone) turns the examples off
  if (a.examples.empty()) a.examples = kDefaultExamples;
  for (const auto& e : a.examples) {
    if (e.empty()) continue;
    if (e.size() > 500) usage_fail("--example: {} bytes, at most 500 (a question a person clicks)", e.size());
    o.examples.push_back(e);
  }
  if (o.examples.size() > 12) usage_fail("--example: {} given, at most 12", o.examples.size());
  o.weights = a.gen.weight_format();
  o.context_policy =
      a.context_policy == "error" ? infer::ContextPolicy::kError : infer::ContextPolicy::kTruncateOldest;
  o.reasoning_auto = a.reasoning_format == "auto";

  LoadedModel lm = load_model_and_tokenizer(a.gen);
  const std::unique_ptr<model::LoraBank> adapters = load_adapters(a.lora, *lm.model, o.model_id);
  // SIGINT/SIGTERM are taken by one waiting thread (blocked everywhere else, including
  // the server's threads, which inherit this mask).
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  sigset_t old;
  pthread_sigmask(SIG_BLOCK, &sigs, &old);
  interop::use_plain_chat_if_none(lm, a.gen.model_dir);
  serve::Server server(o, *lm.model, *lm.tokenizer, *lm.chat, lm.stop_ids, adapters.get());
  int port = 0;
  try {
    port = server.bind();
  } catch (...) {
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    throw;
  }
  std::thread waiter([&] {
    int sig = 0;
    sigwait(&sigs, &sig);
    server.stop();
  });
  std::string lora_names;
  for (int i = 0; adapters && i < adapters->size(); ++i) lora_names += (i ? ", " : ", LoRA ") + adapters->name(i);
  std::printf("chatforge serve: listening on http://%s:%d (model %s%s, batch size %d, queue %d%s%s)\n", o.host.c_str(),
              port, o.model_id.c_str(), lora_names.c_str(), o.parallel, o.max_queue,
              o.api_key.empty() ? "" : ", API key required", o.db.empty() ? "" : (", feedback in " + o.db).c_str());
  std::fflush(stdout);
  server.run();
  pthread_kill(waiter.native_handle(), SIGTERM);  // no-op when the waiter already returned
  waiter.join();
  pthread_sigmask(SIG_SETMASK, &old, nullptr);
  std::printf("chatforge serve: stopped\n");
}

void setup_serve(CLI::App& cmd) {
  auto a = std::make_shared<ServeArgs>();
  cmd.add_option("--model", a->gen.model_dir, "checkpoint directory (with tokenizer.json)")->type_name(kDir)->required();
  cmd.add_option("--tokenizer", a->gen.tokenizer, "tokenizer directory or tokenizer.json (default: the model's)")
      ->type_name(kPath);
  cmd.add_option("--host", a->server.host, "address to bind (127.0.0.1: this machine only)")->capture_default_str();
  cmd.add_option("--port", a->server.port, "TCP port (0: any free port, printed at start)")->capture_default_str();
  cmd.add_option("--api-key", a->server.api_key,
                 "require 'Authorization: Bearer KEY' on every /v1 call (default: none, no key needed)");
  cmd.add_option("--api-key-file", a->api_key_file,
                 "read the API key from this file (keeps it out of `ps`; default: none)")
      ->type_name(kFile);
  cmd.add_option("--batch-size,--parallel", a->server.parallel, "requests decoded together (batched decoding)")
      ->capture_default_str();
  cmd.add_option("--max-queue", a->server.max_queue, "requests waiting beyond --batch-size; more get 429")
      ->capture_default_str();
  cmd.add_option("--db", a->server.db,
                 "SQLite feedback database (created if missing); enables /v1/feedback (default: none, no feedback)")
      ->type_name(kFile);
  cmd.add_option("--model-name", a->server.model_id,
                 "model id in the API and the web page's label (default: the model directory's name; RUN/last for a "
                 "run's last, best or step_N checkpoint)");
  cmd.add_option("--system", a->server.default_system,
                 "system prompt for chat requests whose messages have none (the page's own setting wins; default: "
                 "none)");
  cmd.add_option("--example", a->examples,
                 "an example question the web page offers in an empty chat, clicked to send (repeatable, at most "
                 "12; default: \"" + kDefaultExamples[0] + "\" and \"" + kDefaultExamples[1] +
                     "\"; --example \"\" shows none)");
  cmd.add_option("--context-policy", a->context_policy,
                 "chat requests that do not fit the context (prompt + room for the answer): truncate-oldest leaves "
                 "out the oldest turns (the system prompt stays; reported as usage.truncated_messages and the "
                 "X-Chatforge-Context-Truncated header), error answers 400")
      ->check(CLI::IsMember({"error", "truncate-oldest"}))
      ->capture_default_str();
  cmd.add_option("--reasoning-format", a->reasoning_format,
                 "a reasoning model's <think> block (tokenizer or template with <think>/</think>): auto returns it "
                 "as message.reasoning_content (delta.reasoning_content when streaming) and content only the "
                 "answer; none leaves it in content, verbatim")
      ->check(CLI::IsMember({"auto", "none"}))
      ->capture_default_str();
  cmd.add_option("--max-body-kb", a->max_body_kb, "largest request body in KiB, chunked or not (more: 413)")
      ->capture_default_str();
  cmd.add_option("--max-header-kb", a->max_header_kb, "largest request line + headers in KiB (more: 431)")
      ->capture_default_str();
  cmd.add_option("--max-headers", a->server.limits.max_headers, "most header lines in a request (more: 431)")
      ->capture_default_str();
  cmd.add_option("--max-connections", a->max_connections,
                 "open connections at once (default: max(256, batch-size + max-queue + 32), at most 900); at the cap "
                 "the stalest unfinished one is closed, or 503 when all are busy");
  cmd.add_option("--idle-timeout", a->server.limits.idle_timeout_s,
                 "seconds a connection may wait before sending a request")
      ->capture_default_str();
  cmd.add_option("--header-timeout", a->server.limits.header_timeout_s,
                 "seconds from a request's first byte to the end of its headers (then 408)")
      ->capture_default_str();
  cmd.add_option("--body-timeout", a->server.limits.body_timeout_s,
                 "seconds from the end of the headers to the end of the body (then 408)")
      ->capture_default_str();
  cmd.add_option("--write-timeout", a->server.limits.write_timeout_s,
                 "seconds a write may wait for a client that does not read (then it is closed)")
      ->capture_default_str();
  cmd.add_option("--lora", a->lora,
                 "a LoRA adapter (PEFT folder) served over the base under NAME (default: the folder's name), output "
                 "times SCALE (default 1); repeatable; requests pick it with \"model\": NAME and are batched with "
                 "requests of the base and other adapters (default: none)")
      ->type_name("NAME=DIR[:SCALE]");
  add_threads_option(cmd, a->gen.threads);
  set_ranges(cmd, {{"--port", "[0, 65535]"}, {"--batch-size", "[1, 256]"}, {"--max-queue", "[0, 10000]"},
                   {"--max-body-kb", "[1, 1048576]"}, {"--max-header-kb", "[1, 1024]"}, {"--max-headers", "[1, 10000]"},
                   {"--max-connections", "[1, 900]"}, {"--idle-timeout", "(0, 86400]"},
                   {"--header-timeout", "(0, 86400]"}, {"--body-timeout", "(0, 86400]"},
                   {"--write-timeout", "(0, 86400]"}});
  add_weights_dtype_option(cmd, a->gen.weights_dtype);
  add_config_option(cmd);
  cmd.callback([a] { run_serve(*a); });
}

}  // namespace
CF_REGISTER_COMMAND({"serve", "OpenAI-compatible HTTP API, web chat page and feedback store", setup_serve, 80});
}  // namespace chatforge::cli
