// meta.json's "chat" section of the chat dataset build: the template and mask rule, the
// options, per-task counts, skipped records, truncation, noise, packing, paraphrase calls.
#include <filesystem>

#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "core/json_util.h"
#include "data/chat_build_stages.h"
#include "data/row_packing.h"

namespace chatforge::data::chat_build {

namespace {

using nlohmann::ordered_json;

ordered_json build_options_json(const ChatBuildOptions& o, const NoiseOptions& noise) {
  ordered_json opts;
  opts["format"] = o.format;
  opts["max_len"] = o.max_len;
  opts["truncate"] = o.truncate;
  opts["val_fraction"] = o.val_fraction;
  opts["seed"] = o.seed;
  opts["system"] = o.system;
  opts["mixture"] = o.mixture;
  opts["mixture_size"] = o.mixture_size;
  opts["pack"] = o.pack;
  opts["add_chat_tokens"] = o.add_chat_tokens;
  opts["chat_template"] = o.chat_template;
  opts["augment"] = {{"mask_rate", noise.mask_rate},
                     {"delete_rate", noise.delete_rate},
                     {"substitute_rate", noise.substitute_rate},
                     {"shuffle_rate", noise.shuffle_rate},
                     {"mask_token", noise.mask_rate > 0 ? o.mask_token : ""},
                     {"targets", noise.targets ? "user and assistant turns" : "user turns only"},
                     {"paraphrase_rate", o.paraphrase_rate},
                     {"augment_command", o.augment_command}};
  return opts;
}

ordered_json tasks_json(const ChatBuildResult& r) {
  ordered_json tj = ordered_json::object();
  for (uint32_t t = 0; t < r.tasks.size(); ++t) {
    const auto& c = r.counts[t];
    ordered_json e;
    e["paths"] = r.tasks[t].paths;
    if (r.tasks[t].weight > 0) e["weight"] = r.tasks[t].weight;
    if (r.tasks[t].epochs > 0) e["epochs"] = r.tasks[t].epochs;
    e["system"] = r.tasks[t].system;
    e["conversations_read"] = c.read;
    e["skipped"] = c.skipped;
    e["paraphrased"] = c.paraphrased;
    e["dropped_too_long"] = c.too_long;
    e["truncated"] = c.truncated;
    e["train_conversations"] = c.train;
    e["val_conversations"] = c.val;
    e["train_rows"] = c.train_out;
    e["train_tokens"] = c.train_tokens;
    e["val_tokens"] = c.val_tokens;
    tj[r.tasks[t].task] = e;
  }
  return tj;
}

ordered_json pack_json(const ChatPackStats& st, uint64_t cap) {
  return ordered_json{{"conversations", st.docs},
                      {"rows_before", st.docs},
                      {"rows_after", st.rows},
                      {"padding_before", padding_fraction(st.tokens, st.docs, cap)},
                      {"padding_after", padding_fraction(st.tokens, st.rows, cap)}};
}

}  // namespace

void write_chat_meta(const ChatBuildOptions& o, const tok::ChatFormat& format, const NoiseOptions& noise,
                     const ChatBuildResult& r) {
  const bool chatml = format.kind() == tok::ChatFormat::Kind::kChatML;
  const std::string meta_path = (std::filesystem::path(o.out) / "meta.json").string();
  ordered_json meta = parse_ordered_json(read_file(meta_path), meta_path);
  ordered_json chat;
  chat["kind"] = "sft-chat";
  chat["template"] = chatml ? "chatml" : "model";
  if (!chatml) chat["template_from"] = format.origin();
  chat["chat_template"] = format.template_source();
  chat["loss_mask"] = chatml ? "assistant content and its <|im_end|>; end-of-text separator 0"
                             : "the text each assistant turn generated (content and end of turn); end-of-text separator 0";
  chat["options"] = build_options_json(o, noise);
  chat["tasks"] = tasks_json(r);
  ordered_json sk;
  sk["count"] = r.n_issues;
  sk["examples"] = ordered_json::array();
  for (const auto& i : r.issue_examples)
    sk["examples"].push_back({{"file", i.file}, {"line", i.line}, {"reason", i.reason}});
  chat["skipped"] = sk;
  uint64_t too_long = 0, truncated = 0;
  for (const auto& c : r.counts) {
    too_long += c.too_long;
    truncated += c.truncated;
  }
  chat["truncation"] = {{"policy", o.truncate}, {"dropped_too_long", too_long}, {"truncated", truncated}};
  const NoiseStats& n = r.noise;
  chat["noise"] = {{"touchable_tokens", n.touchable}, {"masked", n.masked},         {"deleted", n.deleted},
                   {"substituted", n.substituted},    {"shuffled", n.shuffled}};
  if (o.pack) {
    const auto cap = static_cast<uint64_t>(o.max_len);
    chat["pack"] = {{"row_tokens", cap}, {"train", pack_json(r.train_pack, cap)}, {"val", pack_json(r.val_pack, cap)}};
  }
  chat["paraphrase_calls"] = r.paraphrase_calls;
  chat["trained_tokens"] = r.trained_tokens;
  meta["chat"] = chat;
  write_file_atomic(meta_path, meta.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

}  // namespace chatforge::data::chat_build
