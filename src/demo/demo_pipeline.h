// `chatforge demo`: the whole product at small scale in one command. Generates the demo
// data, then runs every stage as the same `chatforge` subcommand a user would type (each
// printed, logged to OUT/commands.sh and run as a child process): clean, tokenizer,
// tokenize, pretrain, chat data, SFT, eval, sample chats, optionally serve or chat. Training
// steps are sized from a measured step time so the whole run fits the --minutes budget.
// With --serve or --chat, a finished OUT made with the same options is reused (no
// training; demo_marker.h) unless --fresh.
#pragma once
#include <string>
#include <vector>

#include "demo/knowledge_base.h"

namespace chatforge::demo {

struct DemoOptions {
  std::string out = "demo";
  double minutes = 13;                // whole-run budget
  std::vector<Lang> langs = {Lang::kEn, Lang::kZh};
  std::vector<std::string> corpus;    // extra public-domain text for pretraining (optional)
  bool serve = false;                 // then serve the assistant (web chat page)
  bool chat = false;                  // then chat with it in the terminal
  bool fresh = false;                 // run again even when OUT holds a finished demo
  std::string host = "127.0.0.1";
  int port = 8080;
  uint64_t seed = 2026;
  std::string arch = "llama";         // the model's architecture (model::ArchOptions::arch)
  std::string dtype = "auto";         // training's GEMM inputs: fp32, bf16, or auto (bf16 where the CPU
                                      // computes it natively: AVX512-BF16 or AMX; fp32 elsewhere)
  std::string self_exe;               // the chatforge binary that runs each stage
  bool progress = true;               // progress bars of the stages
};

// The dtype training uses for `opt.dtype` ("auto" resolved on this CPU).
std::string resolved_dtype(const DemoOptions& opt);

// Runs the demo (or, for --serve/--chat, reuses a finished one); throws chatforge::Error
// naming the stage (and its command) that failed.
void run_demo(const DemoOptions& opt);

}  // namespace chatforge::demo
