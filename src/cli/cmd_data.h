// Shared between the `data` subcommand files: cmd_data.cpp owns `chatforge data` (clean,
// inspect); cmd_data_tokenize.cpp adds the parts that need the tokenizer and compiles
// to "not available in this build" stubs when the tokenizer layer is absent.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

namespace chatforge::cli {

// Adds `data tokenize` under `data` (when the tokenizer is built in).
void add_data_tokenize_command(CLI::App& data);

// Adds `data chat` under `data` (cmd_data_chat.cpp), and with it `data augment`
// (cmd_data_augment.cpp: token noise on pretraining shards).
void add_data_chat_command(CLI::App& data);
void add_data_augment_command(CLI::App& data);
// Adds `data prefs` (cmd_data_prefs.cpp): preference JSONL -> DPO/KTO shards.
void add_data_prefs_command(CLI::App& data);

// Decodes a masked (SFT) sample for `data inspect`, marking the trained spans (mask 1):
// style "color" (bold green), "brackets" (⟦...⟧), "off", or "auto" (color on a terminal).
std::string masked_text_for_inspect(const std::string& tokenizer_path, const std::vector<int32_t>& tokens,
                                    const std::vector<uint8_t>& mask, const std::string& style);

// Decodes `tokens` with the tokenizer at `tokenizer_path`; sets *note when the
// tokenizer's fingerprint differs from the shard's. Throws when there is no tokenizer.
std::string decode_for_inspect(const std::string& tokenizer_path, const std::vector<int32_t>& tokens,
                               const std::string& shard_fingerprint, std::string* note);

// "100M" -> 100000000, "64k" -> 64000, "5000" -> 5000; errors name the flag.
uint64_t parse_count_flag(const std::string& flag, const std::string& value);

}  // namespace chatforge::cli
