// `chatforge data augment`: token noise (masking, deletion, substitution, local shuffle)
// on pretraining shards from `data tokenize`: every train document is rewritten with
// seeded noise (optionally keeping the clean copy too); validation shards are copied
// unchanged. SFT chat data gets its noise in `data chat` instead (user turns only).
#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "cli/cmd_data.h"
#include "cli/command.h"
#include "cli/option_checks.h"
#include "core/error.h"
#include "core/file_io.h"
#include "core/json_util.h"
#include "core/progress.h"
#include "core/rng.h"
#include "data/augment.h"
#include "data/shard.h"
#include "tokenizer/tokenizer.h"

namespace chatforge::cli {

namespace {

namespace fs = std::filesystem;

struct AugmentFlags {
  std::string tokenizer, input, out, mask_token = "_", shard_tokens = "100M";
  data::NoiseOptions noise;
  uint64_t seed = 0;
  bool keep_original = false, no_progress = false;
};

void run_augment(const AugmentFlags& f) {
  CF_CHECK(is_directory(f.input), "--input {} is not a directory of shards", f.input);
  CF_CHECK(fs::absolute(f.input) != fs::absolute(f.out), "--out must differ from --input");
  const uint64_t max_tokens = parse_count_flag("--shard-tokens", f.shard_tokens);
  const tok::Tokenizer tk = tok::Tokenizer::load(f.tokenizer);
  data::NoiseOptions noise = f.noise;
  if (noise.mask_rate > 0) {
    if (auto id = tk.special_token_id(f.mask_token)) {
      noise.mask_id = *id;
    } else {
      const auto ids = tk.encode(f.mask_token);
      if (ids.size() != 1) usage_fail("--mask-token '{}' is {} tokens; it must be one token", f.mask_token, ids.size());
      noise.mask_id = ids[0];
    }
  }
  data::check_noise_options(noise, tk.vocab_size());
  if (!noise.any()) usage_fail("give at least one of --mask-rate, --delete-rate, --substitute-rate, --shuffle-rate");
  const auto train_files = data::list_shards(f.input, "train");
  CF_CHECK(!train_files.empty(), "no train_*.bin shards in {}", f.input);
  data::ShardSpec spec;
  spec.vocab_size = static_cast<uint32_t>(tk.vocab_size());
  spec.eot_id = tk.eot_id();
  spec.tokenizer_fingerprint = tk.fingerprint();
  const std::string fp16 = spec.tokenizer_fingerprint.substr(0, 16);
  uint64_t total = 0;
  for (const auto& p : train_files) {
    const data::ShardReader r(p);
    CF_CHECK(!r.has_mask(), "{} has a loss mask (SFT data): use the noise flags of `data chat` instead", p);
    CF_CHECK(r.fingerprint() == fp16, "{} was made with another tokenizer (fingerprint {}, --tokenizer has {})", p,
             r.fingerprint(), fp16);
    total += r.n_docs();
  }
  make_output_dir(f.out);
  data::ShardSetWriter train(f.out, "train", spec, max_tokens);
  data::NoiseStats stats;
  ProgressBar bar("augment", total, "docs", !f.no_progress);
  uint64_t doc_index = 0;
  std::vector<uint32_t> buf;
  for (const auto& p : train_files) {
    const data::ShardReader r(p);
    uint64_t begin = 0;
    for (uint64_t end : r.doc_ends()) {
      buf.resize(end - begin);
      r.read_tokens(begin, end - begin, buf.data());
      std::vector<int32_t> ids(buf.begin(), buf.end());
      if (f.keep_original) train.add_document(ids);
      Rng rng(f.seed * 0x9e3779b97f4a7c15ULL ^ (doc_index + 1) * 0xd1b54a32d192ed03ULL);
      data::apply_text_noise(ids, noise, tk, rng, &stats);
      train.add_document(ids);
      begin = end + 1;
      if (++doc_index % 1024 == 0) bar.update(doc_index);
    }
  }
  bar.update(doc_index);
  bar.finish();
  std::vector<data::ShardSplitSummary> splits(1);
  splits[0].split = "train";
  splits[0].n_tokens = train.n_tokens();
  splits[0].n_docs = train.n_docs();
  for (const auto& p : train.finish()) splits[0].files.push_back(fs::path(p).filename().string());
  data::ShardSplitSummary val;
  val.split = "val";
  for (const auto& p : data::list_shards(f.input, "val")) {  // validation stays clean
    const std::string name = fs::path(p).filename().string();
    write_file_atomic((fs::path(f.out) / name).string(), read_file(p));
    const data::ShardReader r(p);
    val.n_tokens += r.n_tokens();
    val.n_docs += r.n_docs();
    val.files.push_back(name);
  }
  splits.push_back(val);
  data::write_shard_meta(f.out, spec, splits);
  const std::string meta_path = (fs::path(f.out) / "meta.json").string();
  nlohmann::ordered_json meta = parse_ordered_json(read_file(meta_path), meta_path);
  meta["augment"] = {{"source", f.input},
                     {"seed", f.seed},
                     {"keep_original", f.keep_original},
                     {"mask_rate", noise.mask_rate},
                     {"mask_token", noise.mask_rate > 0 ? f.mask_token : ""},
                     {"delete_rate", noise.delete_rate},
                     {"substitute_rate", noise.substitute_rate},
                     {"shuffle_rate", noise.shuffle_rate},
                     {"touchable_tokens", stats.touchable},
                     {"masked", stats.masked},
                     {"deleted", stats.deleted},
                     {"substituted", stats.substituted},
                     {"shuffled", stats.shuffled}};
  write_file_atomic(meta_path, meta.dump(2) + "\n");
  std::printf("train: %llu documents, %llu tokens; noise changed %llu of %llu tokens (%.1f%%)\n",
              static_cast<unsigned long long>(splits[0].n_docs), static_cast<unsigned long long>(splits[0].n_tokens),
              static_cast<unsigned long long>(stats.changed()), static_cast<unsigned long long>(stats.touchable),
              stats.touchable > 0 ? 100.0 * static_cast<double>(stats.changed()) / static_cast<double>(stats.touchable) : 0.0);
  std::printf("val:   %llu documents copied unchanged; wrote %s\n", static_cast<unsigned long long>(val.n_docs),
              f.out.c_str());
}

}  // namespace

void add_data_augment_command(CLI::App& data) {
  auto f = std::make_shared<AugmentFlags>();
  CLI::App* c = data.add_subcommand("augment", "token noise on pretraining shards (masking, deletion, substitution, shuffle)");
  c->add_option("--tokenizer,-t", f->tokenizer, "the tokenizer the shards were made with")->required();
  c->add_option("--input,-i", f->input, "directory of shards from `data tokenize`")->required();
  c->add_option("--out,-o", f->out, "output directory (noised train shards, val copied, meta.json)")->required();
  c->add_option("--mask-rate", f->noise.mask_rate, "share of tokens replaced by --mask-token")->capture_default_str();
  c->add_option("--mask-token", f->mask_token, "the mask token (a special token or a one-token text)")
      ->capture_default_str();
  c->add_option("--delete-rate", f->noise.delete_rate, "share of tokens deleted")->capture_default_str();
  c->add_option("--substitute-rate", f->noise.substitute_rate, "share replaced by a random token")->capture_default_str();
  c->add_option("--shuffle-rate", f->noise.shuffle_rate, "share swapped with their neighbour")->capture_default_str();
  c->add_flag("--keep-original", f->keep_original, "also keep each clean document (doubles the train data)");
  c->add_option("--seed", f->seed, "noise seed")->capture_default_str();
  c->add_option("--shard-tokens", f->shard_tokens, "most tokens per shard file (k/M/G suffixes)")->capture_default_str();
  set_ranges(*c, {{"--mask-rate", "[0, 1]"},
                  {"--delete-rate", "[0, 1]"},
                  {"--substitute-rate", "[0, 1]"},
                  {"--shuffle-rate", "[0, 1]"},
                  {"--seed", kSeedRange}});
  c->add_flag("--no-progress", f->no_progress, "no progress bar");
  add_config_option(*c);
  c->callback([f] { run_augment(*f); });
}

}  // namespace chatforge::cli
