// The writing stages of the chat dataset build: train rows (noise, optional first-fit
// packing), val and per-task val shards, --dump-text, the tokenizer with its chat
// template, and meta.json's "chat" section.
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "core/json_util.h"
#include "core/progress.h"
#include "core/rng.h"
#include "data/chat_build_stages.h"
#include "data/row_packing.h"

namespace chatforge::data::chat_build {

namespace {

namespace fs = std::filesystem;
using nlohmann::ordered_json;

// Every shard set of the output, and the optional --dump-text file.
struct Writers {
  ShardSetWriter train, val;
  std::vector<std::unique_ptr<ShardSetWriter>> task_val;  // mixture: val-<task>
  std::unique_ptr<AtomicFile> dump;
  const tok::ChatFormat* format = nullptr;  // renders --dump-text
};

void dump_example(Writers& w, const std::vector<MixtureTask>& tasks, const Example& e, const char* split) {
  if (!w.dump) return;
  ordered_json j;
  j["split"] = split;
  j["task"] = tasks[e.task].task;
  j["messages"] = ordered_json::array();
  for (const auto& m : e.messages) j["messages"].push_back({{"role", m.role}, {"content", m.content}});
  j["text"] = w.format->text(e.messages);
  w.dump->write(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

// --pack: the split's conversations packed first-fit into rows of max_len tokens (the
// end-of-text of each included), written row by row.
ChatPackStats write_packed(ShardSetWriter& w, const std::vector<const tok::RenderedChat*>& docs, int max_len) {
  std::vector<uint64_t> lengths(docs.size());
  ChatPackStats st;
  for (size_t i = 0; i < docs.size(); ++i) {
    lengths[i] = docs[i]->ids.size() + 1;
    st.tokens += lengths[i];
  }
  const auto rows = pack_first_fit(lengths, static_cast<uint64_t>(max_len));
  for (const auto& row : rows) {
    uint64_t n = 0;
    for (uint32_t d : row) n += lengths[d];
    w.begin_row(n);
    for (uint32_t d : row) w.add_document(docs[d]->ids.data(), docs[d]->ids.size(), docs[d]->mask.data(), 0);
    w.end_row();
  }
  st.docs = docs.size();
  st.rows = rows.size();
  return st;
}

// Train rows in plan order; noise on each row seeded by (seed, conversation, position).
void write_train(const ChatBuildOptions& o, const tok::Tokenizer& tk, const NoiseOptions& noise, const Pools& pools,
                 const std::vector<MixturePick>& picks, Writers& w, ChatBuildResult& r) {
  std::vector<tok::RenderedChat> train_rows;  // --pack: the rows as written (after noise)
  ProgressBar bar("write", picks.size(), "conv", o.progress);
  for (uint64_t k = 0; k < picks.size(); ++k) {
    const Example& e = pools.train[picks[k].task][picks[k].index];
    tok::RenderedChat row = e.chat;
    if (noise.any()) {
      Rng rng(pick_seed(o.seed, e.hash, k + 1));
      apply_chat_noise(row, e.messages, noise, tk, rng, &r.noise);
    }
    for (uint8_t m : row.mask) r.trained_tokens += m;
    if (o.pack)
      train_rows.push_back(std::move(row));
    else
      w.train.add_document(row.ids.data(), row.ids.size(), row.mask.data(), 0);
    ++r.counts[e.task].train_out;
    r.counts[e.task].train_tokens += row.ids.size() + 1;
    dump_example(w, r.tasks, e, "train");
    if (k % 1024 == 0) bar.update(k);
  }
  bar.update(picks.size());
  bar.finish();
  if (o.pack) {
    std::vector<const tok::RenderedChat*> docs;
    for (const auto& row : train_rows) docs.push_back(&row);
    r.train_pack = write_packed(w.train, docs, o.max_len);
  }
}

// Val rows per task in input order, into "val" and (mixture) "val-<task>".
void write_val(const ChatBuildOptions& o, const Pools& pools, Writers& w, ChatBuildResult& r) {
  const bool mixture = !w.task_val.empty();
  std::vector<const tok::RenderedChat*> val_docs;
  for (uint32_t t = 0; t < r.tasks.size(); ++t) {
    r.counts[t].train = pools.train[t].size();
    r.counts[t].val = pools.val[t].size();
    std::vector<const tok::RenderedChat*> task_docs;
    for (const auto& e : pools.val[t]) {
      if (o.pack) {
        val_docs.push_back(&e.chat);
        task_docs.push_back(&e.chat);
      } else {
        w.val.add_document(e.chat.ids.data(), e.chat.ids.size(), e.chat.mask.data(), 0);
        if (mixture) w.task_val[t]->add_document(e.chat.ids.data(), e.chat.ids.size(), e.chat.mask.data(), 0);
      }
      r.counts[t].val_tokens += e.chat.ids.size() + 1;
      dump_example(w, r.tasks, e, "val");
    }
    if (o.pack && mixture) write_packed(*w.task_val[t], task_docs, o.max_len);
  }
  if (o.pack) r.val_pack = write_packed(w.val, val_docs, o.max_len);
}

ShardSplitSummary finish_chat_split(ShardSetWriter& w, const std::string& name) {
  ShardSplitSummary s;
  s.split = name;
  s.n_tokens = w.n_tokens();
  s.n_docs = w.n_docs();
  s.n_rows = w.n_rows();
  for (const auto& p : w.finish()) s.files.push_back(fs::path(p).filename().string());
  return s;
}

// tokenizer.json + vocab.txt, and tokenizer_config.json with the chat template and the
// special tokens Hugging Face tools need (generation stops at <|im_end|>). With a model's
// template, its tokenizer_config.json as it is.
void save_chat_tokenizer(const tok::ChatFormat& format, const std::string& out) {
  const tok::Tokenizer& tk = format.tokenizer();
  tk.save(out);
  if (format.kind() == tok::ChatFormat::Kind::kModelTemplate) {
    write_file_atomic((fs::path(out) / "tokenizer_config.json").string(), read_file(format.origin()));
    return;
  }
  ordered_json c = parse_ordered_json(tk.to_hf_config_json(), "tokenizer_config.json");
  c["bos_token"] = tok::kEndOfText;
  c["eos_token"] = tok::kImEnd;
  c["pad_token"] = tok::kEndOfText;
  c["unk_token"] = tok::kEndOfText;
  c["chat_template"] = tok::ChatFormat::jinja_template();
  write_file_atomic((fs::path(out) / "tokenizer_config.json").string(), c.dump(1) + "\n");
}

}  // namespace

void write_chat_shards(const ChatBuildOptions& o, const tok::ChatFormat& format, const NoiseOptions& noise,
                       const Pools& pools, const std::vector<MixturePick>& picks, ChatBuildResult& r) {
  const tok::Tokenizer& tk = format.tokenizer();
  make_output_dir(o.out);
  const ShardSpec spec = shard_spec_for(tk, true);
  Writers w{ShardSetWriter(o.out, "train", spec, o.shard_tokens), ShardSetWriter(o.out, "val", spec, o.shard_tokens),
            {}, nullptr, &format};
  if (!o.mixture.empty())
    for (const auto& t : r.tasks)
      w.task_val.push_back(std::make_unique<ShardSetWriter>(o.out, "val-" + t.task, spec, o.shard_tokens));
  if (!o.dump_text.empty()) w.dump = std::make_unique<AtomicFile>(o.dump_text);

  write_train(o, tk, noise, pools, picks, w, r);
  write_val(o, pools, w, r);
  if (w.dump) w.dump->commit();

  r.splits.push_back(finish_chat_split(w.train, "train"));
  r.splits.push_back(finish_chat_split(w.val, "val"));
  for (uint32_t t = 0; t < w.task_val.size(); ++t) r.splits.push_back(finish_chat_split(*w.task_val[t], "val-" + r.tasks[t].task));
  write_shard_meta(o.out, spec, r.splits);
  save_chat_tokenizer(format, o.out);
}

}  // namespace chatforge::data::chat_build
