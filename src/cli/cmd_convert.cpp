// `chatforge convert`: Hugging Face folders (GPT-2 and the Llama family) in (--from hf) and out (--to hf), and
// GGUF out (--to gguf, for llama.cpp and ollama; a LoRA adapter folder as --input gives a
// llama.cpp adapter GGUF for the base's GGUF). Outputs appear whole or not at all:
// folders are staged beside --out and renamed, files are written atomically.
#include <cstdio>
#include <filesystem>
#include <optional>

#include "cli/command.h"
#include "cli/common_flags.h"
#include "core/error.h"
#include "core/file_io.h"
#include "interop/gguf_export.h"
#include "interop/gguf_lora_export.h"
#include "interop/hf_folder.h"
#include "interop/staged_output.h"
#include "model/checkpoint.h"
#include "model/lora_io.h"

namespace chatforge::cli {
namespace {

struct ConvertArgs {
  std::string from, to, in, out, tokenizer, type = "f16", dtype = "f32", name, base;
  std::vector<std::string> merge_lora;  // --merge-lora DIR[:SCALE]
};

bool has_tokenizer_files(const std::string& dir) {
  return file_exists(dir + "/tokenizer.json") || file_exists(dir + "/vocab.json") || file_exists(dir + "/encoder.json");
}

// A checkpoint directory, or a training run whose last/ holds one.
std::string resolve_checkpoint(const std::string& in) {
  CF_CHECK(is_directory(in), "--input {}: no such directory", in);
  if (!file_exists(in + "/config.json") && file_exists(in + "/last/config.json")) return in + "/last";
  return in;
}

// The tokenizer_config.json beside the tokenizer: in --tokenizer DIR (or beside the
// tokenizer.json it names), else in the checkpoint directory.
std::string tokenizer_config_path(const std::string& flag, const std::string& dir) {
  if (flag.empty()) return dir + "/tokenizer_config.json";
  if (is_directory(flag)) return flag + "/tokenizer_config.json";
  return (std::filesystem::path(flag).parent_path() / "tokenizer_config.json").string();
}

std::optional<tok::Tokenizer> load_tokenizer(const std::string& flag, const std::string& dir) {
  if (!flag.empty()) return tok::Tokenizer::load(flag);
  if (has_tokenizer_files(dir)) return tok::Tokenizer::load(dir);
  return std::nullopt;
}

DType parse_dtype(const std::string& s) {
  if (s == "f32") return DType::F32;
  if (s == "f16") return DType::F16;
  if (s == "bf16") return DType::BF16;
  usage_fail("--dtype must be f32, f16 or bf16, got '{}'", s);
}

// A PEFT adapter folder, or a LoRA training run whose last/ holds one; "" when `in` is neither.
std::string adapter_dir(const std::string& in) {
  if (file_exists(in + "/" + model::kAdapterConfigFile)) return in;
  if (file_exists(in + "/last/" + model::kAdapterConfigFile)) return in + "/last";
  return "";
}

std::string output_name(const ConvertArgs& a, const std::string& in) {
  const std::string n = a.name.empty() ? std::filesystem::path(in).lexically_normal().filename().string() : a.name;
  return n.empty() ? "chatforge" : n;
}

void prepare_output_file(const std::string& out_path) {
  const std::filesystem::path out(out_path);
  if (out.has_parent_path()) make_dirs(out.parent_path().string());
  remove_stale_temps_of(out_path);  // a killed earlier export's partial file
}

// --to gguf of an adapter: only the base's config.json is read (its architecture, sizes and
// tensor names), from --base or the adapter's base_model_name_or_path.
void export_adapter_gguf(const ConvertArgs& a, const std::string& dir) {
  if (!a.merge_lora.empty()) usage_fail("--merge-lora folds adapters into a model; --input {} is an adapter", a.in);
  if (!a.tokenizer.empty()) usage_fail("--tokenizer: an adapter GGUF has no tokenizer (--input {} is an adapter)", a.in);
  const auto type = interop::parse_gguf_weight_type(a.type);
  std::string recorded;
  model::load_adapter_config(dir, &recorded);
  const std::string base_flag = a.base.empty() ? recorded : a.base;
  CF_CHECK(!base_flag.empty(), "{}/{}: no base_model_name_or_path; give the base model with --base DIR", dir,
           model::kAdapterConfigFile);
  CF_CHECK(is_directory(base_flag), "{}: the adapter's base model {} is not a directory here; give it with --base DIR",
           a.base.empty() ? dir + "/" + model::kAdapterConfigFile : "--base", base_flag);
  const model::GptConfig cfg = model::load_config(resolve_checkpoint(base_flag));
  const auto lora = model::load_adapter(dir, cfg);
  prepare_output_file(a.out);
  interop::export_gguf_lora(a.out, *lora, type, output_name(a, a.in));
  std::printf("wrote %s (gguf v3 LoRA adapter for llama.cpp's %s, %s, rank %d, alpha %g, %zu modules; base %s)\n",
              a.out.c_str(), interop::gguf_architecture(cfg).c_str(), a.type.c_str(), lora->config().rank,
              static_cast<double>(lora->config().alpha), lora->modules().size(), base_flag.c_str());
}

void convert_checkpoint_command(const ConvertArgs& a) {
  if (a.from.empty() == a.to.empty()) usage_fail("give exactly one of --from hf or --to hf|gguf");
  if (!a.from.empty() && a.from != "hf") usage_fail("--from must be hf, got '{}'", a.from);
  if (!a.to.empty() && a.to != "hf" && a.to != "gguf") usage_fail("--to must be hf or gguf, got '{}'", a.to);
  if (!a.base.empty() && a.to != "gguf") usage_fail("--base is for --to gguf of a LoRA adapter");
  if (a.to == "gguf" && !adapter_dir(a.in).empty()) return export_adapter_gguf(a, adapter_dir(a.in));
  if (!a.base.empty()) usage_fail("--base: --input {} is not a LoRA adapter (no {})", a.in, model::kAdapterConfigFile);
  CF_CHECK(adapter_dir(a.in).empty() || file_exists(a.in + "/config.json"),
           "--input {} is a LoRA adapter, already in PEFT's Hugging Face format: fold it into its base with "
           "--input BASE --merge-lora {}, or give --to gguf for a llama.cpp adapter", a.in, adapter_dir(a.in));
  const std::string in = a.from.empty() ? resolve_checkpoint(a.in) : a.in;
  if (a.to == "gguf") {
    const auto type = interop::parse_gguf_weight_type(a.type);
    auto gpt = model::load_model(in);
    model::apply_lora_specs(*gpt, a.merge_lora);
    const auto tok = load_tokenizer(a.tokenizer, in);
    CF_CHECK(tok.has_value(), "{}: no tokenizer (tokenizer.json or vocab.json+merges.txt); give --tokenizer DIR", in);
    prepare_output_file(a.out);
    const auto tc = interop::read_tokenizer_config(tokenizer_config_path(a.tokenizer, in));
    interop::export_gguf(a.out, *gpt, *tok, type, output_name(a, in), tc);
    std::printf("wrote %s (gguf v3, %s, %s, %d layers, vocab %d)\n", a.out.c_str(),
                interop::gguf_architecture(gpt->config()).c_str(), a.type.c_str(), gpt->config().n_layer,
                gpt->config().vocab_size);
    return;
  }
  DType source = DType::F32;
  auto gpt = model::load_model(in, &source);
  model::apply_lora_specs(*gpt, a.merge_lora);
  const auto tok = load_tokenizer(a.tokenizer, in);
  interop::StagedDir staged(a.out);
  // The folder's own tokenizer and generation files pass through unchanged unless
  // --tokenizer names another tokenizer.
  const std::string keep_from = a.tokenizer.empty() ? in : "";
  if (a.from == "hf") {
    interop::write_checkpoint_folder(staged.path(), *gpt, tok ? &*tok : nullptr, keep_from);
  } else {
    interop::write_hf_folder(staged.path(), *gpt, tok ? &*tok : nullptr, parse_dtype(a.dtype), keep_from);
  }
  staged.commit();
  std::printf("wrote %s (%s checkpoint, %d layers, vocab %d, %s)\n", a.out.c_str(),
              a.from == "hf" ? "chatforge" : "Hugging Face", gpt->config().n_layer, gpt->config().vocab_size,
              tok ? "with tokenizer" : "no tokenizer found");
  if (a.from == "hf" && source != DType::F32)
    std::printf("note: the source weights were %s; chatforge keeps F32 (use --dtype %s with --to hf to get them back)\n",
                dtype_name(source), source == DType::F16 ? "f16" : "bf16");
}

void setup_convert(CLI::App& cmd) {
  auto a = std::make_shared<ConvertArgs>();
  cmd.add_option("--from", a->from, "input format, a Hugging Face folder: GPT-2, Llama, Mistral, Qwen2, Qwen3 (this or --to; default: none)")
      ->check(CLI::IsMember({"hf"}));
  cmd.add_option("--to", a->to, "output format, Hugging Face or llama.cpp / ollama (this or --from; default: none)")
      ->check(CLI::IsMember({"hf", "gguf"}));
  cmd.add_option("--input,--in", a->in,
                 "input directory (a checkpoint, a training run, an HF folder; with --to gguf also a LoRA adapter)")
      ->type_name(kDir)
      ->required();
  cmd.add_option("--out", a->out, "output directory (hf, chatforge) or file (gguf)")->type_name(kPath)->required();
  cmd.add_option("--tokenizer", a->tokenizer, "tokenizer directory (default: the one in --input)")->type_name(kPath);
  cmd.add_option("--merge-lora", a->merge_lora,
                 "fold a LoRA adapter (PEFT folder, optionally :SCALE) into the weights written (repeatable; default: none)")
      ->type_name("DIR[:SCALE]");
  cmd.add_option("--base", a->base,
                 "base model of a LoRA adapter --input with --to gguf (default: its base_model_name_or_path)")
      ->type_name(kDir);
  cmd.add_option("--type", a->type, "GGUF weight type: f32, f16, q8_0 or q4_0 (adapters: f32 or f16)")
      ->capture_default_str();
  cmd.add_option("--dtype", a->dtype, "HF safetensors dtype with --to hf: f32, f16 or bf16")->capture_default_str();
  cmd.add_option("--name", a->name, "GGUF general.name (default: the input folder's name)");
  add_config_option(cmd);
  cmd.callback([a] { convert_checkpoint_command(*a); });
}

}  // namespace
CF_REGISTER_COMMAND({"convert", "convert checkpoints: Hugging Face GPT-2 and Llama-family folders in/out, GGUF out", setup_convert, 75});
}  // namespace chatforge::cli
