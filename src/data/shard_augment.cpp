// Implementation of shard_augment.h: check the input shards, write the noised train
// documents, copy the validation shards, record what was done in meta.json.
#include "data/shard_augment.h"

#include <filesystem>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/file_io.h"
#include "core/json_util.h"
#include "core/progress.h"
#include "core/rng.h"
#include "data/shard.h"
#include "tokenizer/tokenizer.h"

namespace chatforge::data {

namespace {

namespace fs = std::filesystem;

// The train shards, checked: unmasked, made with this tokenizer. Returns their documents.
uint64_t check_train_shards(const std::vector<std::string>& files, const ShardSpec& spec) {
  const std::string fp16 = spec.tokenizer_fingerprint.substr(0, 16);
  uint64_t docs = 0;
  for (const auto& p : files) {
    const ShardReader r(p);
    CF_CHECK(!r.has_mask(), "{} has a loss mask (SFT data): use the noise flags of `data chat` instead", p);
    CF_CHECK(r.fingerprint() == fp16, "{} was made with another tokenizer (fingerprint {}, --tokenizer has {})", p,
             r.fingerprint(), fp16);
    docs += r.n_docs();
  }
  return docs;
}

ShardSplitSummary write_noised_train(const ShardAugmentOptions& o, const std::vector<std::string>& files,
                                     uint64_t total_docs, const ShardSpec& spec, const NoiseOptions& noise,
                                     const tok::Tokenizer& tk, NoiseStats& stats) {
  ShardSetWriter train(o.out, "train", spec, o.shard_tokens);
  ProgressBar bar("augment", total_docs, "docs", o.progress);
  uint64_t doc_index = 0;
  std::vector<uint32_t> buf;
  for (const auto& p : files) {
    const ShardReader r(p);
    uint64_t begin = 0;
    for (uint64_t end : r.doc_ends()) {
      buf.resize(end - begin);
      r.read_tokens(begin, end - begin, buf.data());
      std::vector<int32_t> ids(buf.begin(), buf.end());
      if (o.keep_original) train.add_document(ids);
      Rng rng(o.seed * 0x9e3779b97f4a7c15ULL ^ (doc_index + 1) * 0xd1b54a32d192ed03ULL);
      apply_text_noise(ids, noise, tk, rng, &stats);
      train.add_document(ids);
      begin = end + 1;
      if (++doc_index % 1024 == 0) bar.update(doc_index);
    }
  }
  bar.update(doc_index);
  bar.finish();
  ShardSplitSummary s;
  s.split = "train";
  s.n_tokens = train.n_tokens();
  s.n_docs = train.n_docs();
  for (const auto& p : train.finish()) s.files.push_back(fs::path(p).filename().string());
  return s;
}

// Validation stays clean: its shards are copied unchanged.
ShardSplitSummary copy_val(const ShardAugmentOptions& o) {
  ShardSplitSummary val;
  val.split = "val";
  for (const auto& p : list_shards(o.input, "val")) {
    const std::string name = fs::path(p).filename().string();
    write_file_atomic((fs::path(o.out) / name).string(), read_file(p));
    const ShardReader r(p);
    val.n_tokens += r.n_tokens();
    val.n_docs += r.n_docs();
    val.files.push_back(name);
  }
  return val;
}

void write_augment_meta(const ShardAugmentOptions& o, const NoiseOptions& noise, const NoiseStats& stats) {
  const std::string meta_path = (fs::path(o.out) / "meta.json").string();
  nlohmann::ordered_json meta = parse_ordered_json(read_file(meta_path), meta_path);
  meta["augment"] = {{"source", o.input},
                     {"seed", o.seed},
                     {"keep_original", o.keep_original},
                     {"mask_rate", noise.mask_rate},
                     {"mask_token", noise.mask_rate > 0 ? o.mask_token : ""},
                     {"delete_rate", noise.delete_rate},
                     {"substitute_rate", noise.substitute_rate},
                     {"shuffle_rate", noise.shuffle_rate},
                     {"touchable_tokens", stats.touchable},
                     {"masked", stats.masked},
                     {"deleted", stats.deleted},
                     {"substituted", stats.substituted},
                     {"shuffled", stats.shuffled}};
  write_file_atomic(meta_path, meta.dump(2) + "\n");
}

}  // namespace

ShardAugmentResult augment_shards(const ShardAugmentOptions& o) {
  CF_CHECK(is_directory(o.input), "--input {} is not a directory of shards", o.input);
  // compared resolved: `shards`, `./shards/` and a link to it are one directory
  CF_CHECK(resolved_path(o.input) != resolved_path(o.out), "--out must differ from --input");
  CF_CHECK(o.shard_tokens > 0, "--shard-tokens must be positive");
  const tok::Tokenizer tk = tok::Tokenizer::load(o.tokenizer);
  NoiseOptions noise = o.noise;
  if (noise.mask_rate > 0) noise.mask_id = resolve_mask_token(tk, o.mask_token);
  check_noise_options(noise, tk.vocab_size());
  if (!noise.any()) usage_fail("give at least one of --mask-rate, --delete-rate, --substitute-rate, --shuffle-rate");
  const auto train_files = list_shards(o.input, "train");
  CF_CHECK(!train_files.empty(), "no train_*.bin shards in {}", o.input);
  ShardSpec spec = shard_spec_for(tk);
  const uint64_t total_docs = check_train_shards(train_files, spec);

  make_output_dir(o.out);
  ShardAugmentResult r;
  std::vector<ShardSplitSummary> splits;
  splits.push_back(write_noised_train(o, train_files, total_docs, spec, noise, tk, r.noise));
  splits.push_back(copy_val(o));
  write_shard_meta(o.out, spec, splits);
  write_augment_meta(o, noise, r.noise);
  r.train_docs = splits[0].n_docs;
  r.train_tokens = splits[0].n_tokens;
  r.val_docs = splits[1].n_docs;
  return r;
}

std::string format_shard_augment_summary(const ShardAugmentResult& r, const std::string& out) {
  const NoiseStats& s = r.noise;
  return fmt::format("train: {} documents, {} tokens; noise changed {} of {} tokens ({:.1f}%)\n", r.train_docs,
                     r.train_tokens, s.changed(), s.touchable,
                     s.touchable > 0 ? 100.0 * static_cast<double>(s.changed()) / static_cast<double>(s.touchable)
                                     : 0.0) +
         fmt::format("val:   {} documents copied unchanged; wrote {}\n", r.val_docs, out);
}

}  // namespace chatforge::data
