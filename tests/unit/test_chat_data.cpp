// SFT chat data: the chat template's loss mask token by token (single/multi-turn, with and
// without a system prompt, in every input format), bad records with file:line, CSV
// parsing, truncation policies, the hash split, task mixtures (3:1 weights within
// sampling error), token noise (rate 0 is the identity; rate r touches about r of the
// user tokens and never the assistant targets unless asked) and the external command.
#include <gtest/gtest.h>

#include "tokenizer/unicode_text.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/rng.h"
#include "data/augment.h"
#include "data/chat_dataset.h"
#include "data/chat_record.h"
#include "data/mixture.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/trainer.h"
#include "test_util.h"

using namespace chatforge;
using namespace chatforge::data;
using chatforge::tok::ChatFormat;
using chatforge::tok::ChatMessage;
using chatforge::tok::RenderedChat;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

using chatforge::testing::temp_dir;
using chatforge::testing::write_text;

const tok::Tokenizer& tokenizer() {
  static const tok::Tokenizer tk = [] {
    tok::TrainOptions o;
    o.vocab_size = 420;
    o.special_tokens = {tok::kImStart, tok::kImEnd};
    o.progress = false;
    std::string text;
    for (int i = 0; i < 30; ++i)
      text += "What is the capital of France? The capital of France is Paris. Hello there, how are you today? "
              "You are a helpful assistant. 你好，世界。我很好，谢谢。\n";
    return tok::train_bpe_on_text(text, o);
  }();
  return tk;
}

// The expected rendering, built by hand from the template's definition.
RenderedChat expected(const std::vector<ChatMessage>& msgs) {
  const auto& tk = tokenizer();
  RenderedChat r;
  auto put = [&](const std::vector<int32_t>& ids, uint8_t m) {
    r.ids.insert(r.ids.end(), ids.begin(), ids.end());
    r.mask.insert(r.mask.end(), ids.size(), m);
  };
  for (const auto& m : msgs) {
    const uint8_t a = m.role == "assistant";
    put({*tk.special_token_id(tok::kImStart)}, 0);
    put(tk.encode(m.role + "\n"), 0);
    put(tk.encode(m.content), a);
    put({*tk.special_token_id(tok::kImEnd)}, a);
    put(tk.encode("\n"), 0);
  }
  return r;
}

const std::vector<ChatMessage> kSingle = {{"user", "What is the capital of France?"},
                                          {"assistant", "The capital of France is Paris."}};
const std::vector<ChatMessage> kSystem = {{"system", "You are a helpful assistant."},
                                          {"user", "What is the capital of France?"},
                                          {"assistant", "The capital of France is Paris."}};
const std::vector<ChatMessage> kMulti = {{"system", "You are a helpful assistant."},
                                         {"user", "Hello there"},
                                         {"assistant", "Hello, how are you today?"},
                                         {"user", "你好，世界。"},
                                         {"assistant", "我很好，谢谢。"}};

}  // namespace

TEST(ChatMask, TokenByTokenSingleSystemMulti) {
  const ChatFormat cf(tokenizer());
  const auto& tk = tokenizer();
  for (const auto* msgs : {&kSingle, &kSystem, &kMulti}) {
    const RenderedChat got = cf.render(*msgs);
    const RenderedChat want = expected(*msgs);
    ASSERT_EQ(got.ids, want.ids);
    ASSERT_EQ(got.mask, want.mask);
    ASSERT_EQ(got.message.size(), got.ids.size());
    EXPECT_EQ(tk.decode(got.ids), ChatFormat::render_text(*msgs));
    // The trained tokens decode to exactly the assistant contents, each followed by <|im_end|>.
    std::string trained, want_trained;
    std::vector<int32_t> run;
    for (size_t i = 0; i <= got.ids.size(); ++i) {
      if (i < got.ids.size() && got.mask[i]) {
        run.push_back(got.ids[i]);
      } else if (!run.empty()) {
        trained += tk.decode(run) + "|";
        run.clear();
      }
    }
    for (const auto& m : *msgs)
      if (m.role == "assistant") want_trained += m.content + tok::kImEnd + "|";
    EXPECT_EQ(trained, want_trained);
    // The <|im_end|> after a user or system turn is never trained; the role headers never are.
    for (size_t i = 0; i < got.ids.size(); ++i) {
      if (got.ids[i] == cf.im_start_id()) {
        EXPECT_EQ(got.mask[i], 0);
      }
      if (got.message[i] >= 0) {
        EXPECT_EQ(got.mask[i], (*msgs)[got.message[i]].role == "assistant" ? 1 : 0);
      }
    }
  }
  // Exact small case: counts of trained tokens = assistant content tokens + 1.
  const RenderedChat r = cf.render(kSingle);
  size_t n = 0;
  for (uint8_t m : r.mask) n += m;
  EXPECT_EQ(n, tk.encode(kSingle[1].content).size() + 1);
  EXPECT_EQ(r.mask.back(), 0);  // the newline after <|im_end|>
  EXPECT_EQ(r.mask[r.mask.size() - 2], 1);
  EXPECT_EQ(r.ids[r.ids.size() - 2], cf.end_of_turn_id());
}

TEST(ChatMask, GenerationPromptAndBadRoles) {
  const ChatFormat cf(tokenizer());
  const RenderedChat r = cf.render({{"user", "Hello there"}}, true);
  EXPECT_EQ(tokenizer().decode(r.ids), "<|im_start|>user\nHello there<|im_end|>\n<|im_start|>assistant\n");
  for (uint8_t m : r.mask) EXPECT_EQ(m, 0);
  EXPECT_THROW(cf.render({{"robot", "x"}, {"assistant", "y"}}), Error);
  EXPECT_THROW(cf.render({{"user", "x"}, {"system", "y"}}), Error);
  // A special-token spelling inside content stays text: never a control token.
  const RenderedChat t = cf.render({{"user", "<|im_end|>"}, {"assistant", "ok"}});
  int n_end = 0;
  for (int32_t id : t.ids) n_end += id == cf.end_of_turn_id();
  EXPECT_EQ(n_end, 2);
}

TEST(ChatFormats, SameConversationSameIdsAndMaskInEveryFormat) {
  const ChatFormat cf(tokenizer());
  const std::string q = "What is the capital of France?", a = "The capital of France is Paris.",
                    s = "You are a helpful assistant.";
  for (bool with_system : {false, true}) {
    const auto& want_msgs = with_system ? kSystem : kSingle;
    const RenderedChat want = cf.render(want_msgs);
    std::vector<json> records;
    json m = {{"messages", json::array()}};
    if (with_system) m["messages"].push_back({{"role", "system"}, {"content", s}});
    m["messages"].push_back({{"role", "user"}, {"content", q}});
    m["messages"].push_back({{"role", "assistant"}, {"content", a}});
    records.push_back(m);
    json sg = {{"conversations", {{{"from", "human"}, {"value", q}}, {{"from", "gpt"}, {"value", a}}}}};
    if (with_system) sg["system"] = s;
    records.push_back(sg);
    json al = {{"instruction", q}, {"input", ""}, {"output", a}};
    if (with_system) al["system"] = s;
    records.push_back(al);
    json pc = {{"prompt", q}, {"completion", a}};
    if (with_system) pc["system"] = s;
    records.push_back(pc);
    for (const auto& rec : records) {
      const auto msgs = conversation_from_json(rec, ChatInputFormat::kAuto);
      const RenderedChat got = cf.render(msgs);
      EXPECT_EQ(got.ids, want.ids) << rec.dump();
      EXPECT_EQ(got.mask, want.mask) << rec.dump();
    }
    // CSV and TSV through the file reader.
    const std::string dir = temp_dir(with_system ? "formats_sys" : "formats");
    const std::string csv = with_system ? "system,question,answer\n\"" + s + "\",\"" + q + "\",\"" + a + "\"\n"
                                        : "question,answer\n\"" + q + "\",\"" + a + "\"\n";
    const std::string tsv = with_system ? "system\tquestion\tanswer\n" + s + "\t" + q + "\t" + a + "\n"
                                        : "question\tanswer\n" + q + "\t" + a + "\n";
    write_text(dir + "/qa.csv", csv);
    write_text(dir + "/qa.tsv", tsv);
    for (const char* f : {"/qa.csv", "/qa.tsv"}) {
      std::vector<Conversation> got;
      read_chat_file(dir + f, ChatInputFormat::kAuto, true, [&](Conversation&& c) { got.push_back(std::move(c)); },
                     [](ChatIssue&&) { FAIL(); });
      ASSERT_EQ(got.size(), 1u) << f;
      EXPECT_EQ(got[0].line, 2u);
      const RenderedChat r = cf.render(got[0].messages);
      EXPECT_EQ(r.ids, want.ids) << f;
      EXPECT_EQ(r.mask, want.mask) << f;
    }
  }
  // Multi-turn: messages and ShareGPT agree.
  json m = {{"messages", json::array()}}, sg = {{"conversations", json::array()}};
  for (const auto& msg : kMulti) {
    m["messages"].push_back({{"role", msg.role}, {"content", msg.content}});
    sg["conversations"].push_back(
        {{"from", msg.role == "user" ? "human" : msg.role == "assistant" ? "gpt" : "system"}, {"value", msg.content}});
  }
  const RenderedChat want = cf.render(kMulti);
  for (const auto& rec : {m, sg}) {
    const RenderedChat got = cf.render(conversation_from_json(rec, ChatInputFormat::kAuto));
    EXPECT_EQ(got.ids, want.ids);
    EXPECT_EQ(got.mask, want.mask);
  }
  // Alpaca's input joins the instruction after a blank line.
  const auto al = conversation_from_json({{"instruction", "Translate"}, {"input", "你好"}, {"output", "Hello"}},
                                         ChatInputFormat::kAlpaca);
  EXPECT_EQ(al[0].content, "Translate\n\n你好");
}

TEST(ChatFormats, BadRecordsSkippedWithFileLine) {
  const std::string dir = temp_dir("bad");
  const std::string path = dir + "/chat.jsonl";
  write_text(path,
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"hello\"}]}\n"
        "{\"messages\":[{\"role\":\"robot\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":\"x\"}]}\n"
        "\n"
        "{\"messages\":[{\"role\":\"user\",\"content\":\"\"},{\"role\":\"assistant\",\"content\":\"x\"}]}\n"
        "{\"messages\":[{\"role\":\"user\",\"content\":\"only a question\"}]}\n"
        "{\"messages\": [broken\n"
        "{\"conversations\":[{\"from\":\"human\",\"value\":\"q\"},{\"from\":\"gpt\",\"value\":\"a\"}]}\n"
        "{\"something\": 1}\n");
  std::vector<Conversation> ok;
  std::vector<ChatIssue> bad;
  read_chat_file(path, ChatInputFormat::kAuto, false, [&](Conversation&& c) { ok.push_back(std::move(c)); },
                 [&](ChatIssue&& i) { bad.push_back(std::move(i)); });
  ASSERT_EQ(ok.size(), 2u);
  EXPECT_EQ(ok[0].line, 1u);
  EXPECT_EQ(ok[1].line, 7u);
  ASSERT_EQ(bad.size(), 5u);
  const std::pair<uint64_t, const char*> want[] = {
      {2, "unknown role 'robot'"}, {4, "empty content"}, {5, "no assistant turn"}, {6, "broken JSON"}, {8, "unrecognised"}};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(bad[i].file, path);
    EXPECT_EQ(bad[i].line, want[i].first);
    EXPECT_NE(bad[i].reason.find(want[i].second), std::string::npos) << bad[i].reason;
  }
  try {
    read_chat_file(path, ChatInputFormat::kAuto, true, [](Conversation&&) {}, [](ChatIssue&&) {});
    FAIL() << "strict mode must throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path + ":2: message 0: unknown role 'robot'"), std::string::npos) << e.what();
  }
  // A .json array of records (Alpaca style); a bad element is reported by its number.
  write_text(dir + "/alpaca.json", R"([{"instruction":"a","output":"b"},{"instruction":"c"}])");
  ok.clear();
  bad.clear();
  read_chat_file(dir + "/alpaca.json", ChatInputFormat::kAuto, false, [&](Conversation&& c) { ok.push_back(std::move(c)); },
                 [&](ChatIssue&& i) { bad.push_back(std::move(i)); });
  EXPECT_EQ(ok.size(), 1u);
  ASSERT_EQ(bad.size(), 1u);
  EXPECT_EQ(bad[0].line, 2u);
  EXPECT_NE(bad[0].reason.find("'output'"), std::string::npos);
}

TEST(ChatFormats, DelimitedParsing) {
  std::vector<uint64_t> lines;
  const auto rows = parse_delimited("q,a\n\"x, y\",\"say \"\"hi\"\"\nnext line\"\r\nplain,2\n\n", ',', &lines);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1][0], "x, y");
  EXPECT_EQ(rows[1][1], "say \"hi\"\nnext line");
  EXPECT_EQ(rows[2][0], "plain");
  EXPECT_EQ(lines, (std::vector<uint64_t>{1, 2, 4}));
  EXPECT_THROW(parse_delimited("a,\"open\n", ',', nullptr), Error);
  const auto t = parse_delimited("a\tb \"c\"\n", '\t', nullptr);
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0][1], "b \"c\"");
}

TEST(ChatDataset, TruncationPolicies) {
  const ChatFormat cf(tokenizer());
  const size_t full = cf.render(kMulti).ids.size();
  const std::vector<ChatMessage> last = {kMulti[0], kMulti[3], kMulti[4]};
  const size_t last_len = cf.render(last).ids.size();
  ASSERT_LT(last_len, full);
  FitResult r = fit_conversation(cf, kMulti, full, TruncatePolicy::kDrop);
  EXPECT_TRUE(r.kept);
  EXPECT_EQ(r.exchanges_dropped, 0u);
  r = fit_conversation(cf, kMulti, full - 1, TruncatePolicy::kDrop);
  EXPECT_FALSE(r.kept);
  r = fit_conversation(cf, kMulti, full - 1, TruncatePolicy::kKeepLastTurns);
  ASSERT_TRUE(r.kept);
  EXPECT_EQ(r.exchanges_dropped, 1u);
  ASSERT_EQ(r.messages.size(), 3u);
  EXPECT_EQ(r.messages[0].role, "system");  // the system prompt is kept
  EXPECT_EQ(r.messages[1].content, kMulti[3].content);
  EXPECT_EQ(r.chat.ids, cf.render(last).ids);
  // A single exchange still too long is dropped.
  EXPECT_FALSE(fit_conversation(cf, kMulti, last_len - 1, TruncatePolicy::kKeepLastTurns).kept);
}

TEST(ChatDataset, HashSplitIsStableAndProportional) {
  int val = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const std::vector<ChatMessage> m = {{"user", "question " + std::to_string(i)}, {"assistant", "a"}};
    const uint64_t h = conversation_hash(m);
    EXPECT_EQ(h, conversation_hash(m));
    val += is_validation_hash(h, 7, 0.1);
  }
  EXPECT_NEAR(val / double(n), 0.1, 4 * std::sqrt(0.1 * 0.9 / n));
  EXPECT_NE(conversation_hash({{"user", "ab"}, {"assistant", "c"}}), conversation_hash({{"user", "a"}, {"assistant", "bc"}}));
  EXPECT_FALSE(is_validation_hash(123, 0, 0.0));
  // The system prompt does not move a conversation to another split.
  EXPECT_EQ(conversation_hash(kSingle), conversation_hash(kSystem));
}

TEST(Mixture, YamlAndJsonFiles) {
  const std::string dir = temp_dir("mixture");
  write_text(dir + "/mix.yaml",
        "# two tasks\n"
        "- task: dialogue\n"
        "  path: chats.jsonl   # relative to this file\n"
        "  weight: 3\n"
        "- task: qa\n"
        "  paths: [a.csv, \"b.tsv\"]\n"
        "  weight: 1\n"
        "  system: \"Answer briefly: \\\"yes\\\" or no.\"\n");
  auto t = load_mixture(dir + "/mix.yaml");
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[0].task, "dialogue");
  EXPECT_EQ(t[0].paths, std::vector<std::string>{dir + "/chats.jsonl"});
  EXPECT_EQ(t[0].weight, 3);
  EXPECT_EQ(t[1].paths, (std::vector<std::string>{dir + "/a.csv", dir + "/b.tsv"}));
  EXPECT_EQ(t[1].system, "Answer briefly: \"yes\" or no.");
  write_text(dir + "/mix.json", R"([{"task":"a","path":"/x.jsonl","epochs":2},{"task":"b","path":"y.jsonl"}])");
  t = load_mixture(dir + "/mix.json");
  EXPECT_EQ(t[0].epochs, 2);
  EXPECT_EQ(t[1].epochs, 1);  // neither given: one epoch
  EXPECT_EQ(t[0].paths[0], "/x.jsonl");
  const std::string bad[] = {
      R"([{"task":"a","path":"x","weight":1},{"task":"b","path":"y","epochs":1}])",
      R"([{"task":"a","path":"x","weight":-1}])",
      R"([{"task":"a b","path":"x"}])",
      R"([{"task":"a"}])",
      R"([{"task":"a","path":"x","colour":1}])",
      R"([{"task":"a","path":"x"},{"task":"a","path":"y"}])",
  };
  for (const auto& b : bad) {
    write_text(dir + "/bad.json", b);
    EXPECT_THROW(load_mixture(dir + "/bad.json"), Error) << b;
  }
  write_text(dir + "/bad.yaml", "task: a\n");
  EXPECT_THROW(load_mixture(dir + "/bad.yaml"), Error);
}

TEST(Mixture, WeightsGiveProportionsWithinSamplingError) {
  std::vector<MixtureTask> tasks(2);
  tasks[0].task = "dialogue";
  tasks[0].weight = 3;
  tasks[1].task = "qa";
  tasks[1].weight = 1;
  const uint64_t total = 8000;
  const auto picks = plan_mixture(tasks, {500, 3000}, total, 42);
  ASSERT_EQ(picks.size(), total);
  std::vector<uint64_t> seen0(500, 0);
  uint64_t n0 = 0;
  for (const auto& p : picks) {
    if (p.task == 0) {
      ++n0;
      ASSERT_LT(p.index, 500u);
      ++seen0[p.index];
    } else {
      ASSERT_LT(p.index, 3000u);
    }
  }
  const double share = double(n0) / total;
  EXPECT_NEAR(share, 0.75, 4 * std::sqrt(0.75 * 0.25 / total));
  // Cycling through shuffled passes: repeats are spread evenly (each example 11 or 12 or 13 times).
  for (uint64_t c : seen0) EXPECT_LE(std::abs(static_cast<long>(c) - static_cast<long>(n0 / 500)), 2);
  EXPECT_EQ(picks.size(), plan_mixture(tasks, {500, 3000}, total, 42).size());
  EXPECT_EQ(picks[17].index, plan_mixture(tasks, {500, 3000}, total, 42)[17].index);  // deterministic
  // Natural size: the largest pool (qa, 3000, share 1/4) appears about once -> 12000 picks.
  EXPECT_EQ(plan_mixture(tasks, {500, 3000}, 0, 1).size(), 12000u);
  // Epochs: exact repeat counts (1.5 epochs of 10 -> 15).
  tasks[0].weight = tasks[1].weight = 0;
  tasks[0].epochs = 2;
  tasks[1].epochs = 1.5;
  const auto e = plan_mixture(tasks, {7, 10}, 0, 3);
  uint64_t e0 = 0;
  for (const auto& p : e) e0 += p.task == 0;
  EXPECT_EQ(e0, 14u);
  EXPECT_EQ(e.size() - e0, 15u);
}

TEST(Augment, RateZeroIsIdentityAndRateRTouchesAboutR) {
  const ChatFormat cf(tokenizer());
  const auto& tk = tokenizer();
  std::vector<ChatMessage> msgs = {{"system", "You are a helpful assistant."}, {"user", ""}, {"assistant", ""}};
  for (int i = 0; i < 120; ++i) {
    msgs[1].content += "What is the capital of France? 你好，世界。龘靐齉爩";  // rare: cut into byte pieces
    msgs[2].content += "The capital of France is Paris. ";
  }
  const RenderedChat base = cf.render(msgs);
  auto assistant_tokens = [](const RenderedChat& r) {
    std::vector<int32_t> out;
    for (size_t i = 0; i < r.ids.size(); ++i)
      if (r.mask[i]) out.push_back(r.ids[i]);
    return out;
  };
  NoiseOptions zero;
  RenderedChat same = base;
  Rng rng0(5);
  NoiseStats st0;
  apply_chat_noise(same, msgs, zero, tk, rng0, &st0);
  EXPECT_EQ(same.ids, base.ids);
  EXPECT_EQ(same.mask, base.mask);
  EXPECT_EQ(st0.changed(), 0u);

  // Noise touches whole-character tokens only (GPT-2's byte-level BPE cuts some Chinese
  // characters into pieces; a piece is never masked, deleted, replaced or moved).
  auto valid_utf8 = [](const std::string& b) { return tok::is_valid_utf8(b); };
  auto whole = [&](int32_t id) { return valid_utf8(std::string(tk.token_bytes(id))); };
  size_t user_tokens = 0, pieces = 0;
  for (size_t i = 0; i < base.ids.size(); ++i)
    if (base.message[i] == 1) whole(base.ids[i]) ? ++user_tokens : ++pieces;
  ASSERT_GT(user_tokens, 1000u);
  ASSERT_GT(pieces, 100u);  // the test text does have split characters
  const double r = 0.2;
  for (int kind = 0; kind < 4; ++kind) {
    NoiseOptions o;
    (kind == 0 ? o.mask_rate : kind == 1 ? o.delete_rate : kind == 2 ? o.substitute_rate : o.shuffle_rate) = r;
    o.mask_id = *tk.special_token_id(tok::kEndOfText);
    RenderedChat got = base;
    Rng rng(11 + kind);
    NoiseStats st;
    apply_chat_noise(got, msgs, o, tk, rng, &st);
    EXPECT_EQ(got.ids.size(), got.mask.size());
    EXPECT_EQ(st.touchable, user_tokens) << kind;
    const double frac = double(st.changed()) / double(user_tokens);
    // Shuffle swaps pairs: a picked token changes itself and its neighbour (about 2r/(1+r)).
    const double want = kind == 3 ? 2 * r / (1 + r) : r;
    EXPECT_NEAR(frac, want, 0.06) << "kind " << kind;
    EXPECT_EQ(assistant_tokens(got), assistant_tokens(base)) << "assistant targets changed, kind " << kind;
    // The system prompt and template tokens are untouched: the prefix up to the user content is equal.
    size_t first_user = 0;
    while (base.message[first_user] != 1) ++first_user;
    EXPECT_TRUE(std::equal(base.ids.begin(), base.ids.begin() + first_user, got.ids.begin()));
    if (kind == 1) {
      EXPECT_EQ(base.ids.size() - got.ids.size(), st.deleted);
    }
    // at a high rate the text still decodes to valid UTF-8 (no character cut in half)
    NoiseOptions hi;
    (kind == 0 ? hi.mask_rate : kind == 1 ? hi.delete_rate : kind == 2 ? hi.substitute_rate : hi.shuffle_rate) = 0.6;
    hi.mask_id = o.mask_id;
    RenderedChat noisy = base;
    Rng rh(21 + kind);
    apply_chat_noise(noisy, msgs, hi, tk, rh, nullptr);
    EXPECT_TRUE(valid_utf8(tk.decode(noisy.ids))) << "kind " << kind;
  }
  // With --augment-targets the assistant turn changes too; the same seed gives the same output.
  NoiseOptions t;
  t.substitute_rate = 0.3;
  t.targets = true;
  RenderedChat a = base, b = base;
  Rng ra(9), rb(9);
  apply_chat_noise(a, msgs, t, tk, ra, nullptr);
  apply_chat_noise(b, msgs, t, tk, rb, nullptr);
  EXPECT_EQ(a.ids, b.ids);
  EXPECT_NE(assistant_tokens(a), assistant_tokens(base));
  // Pretraining text: every token touchable; substitutions never produce special tokens.
  std::vector<int32_t> text = tk.encode(msgs[1].content);
  const auto orig = text;
  NoiseOptions s;
  s.substitute_rate = 1.0;
  Rng rs(3);
  NoiseStats ss;
  apply_text_noise(text, s, tk, rs, &ss);
  ASSERT_EQ(text.size(), orig.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (whole(orig[i])) EXPECT_NE(text[i], orig[i]);
    else EXPECT_EQ(text[i], orig[i]);  // a piece of a character stays
    EXPECT_FALSE(tk.is_special(text[i]));
    EXPECT_TRUE(whole(text[i]) || text[i] == orig[i]);
  }
  EXPECT_TRUE(valid_utf8(tk.decode(text)));
  NoiseOptions bad;
  bad.mask_rate = 0.7;
  bad.delete_rate = 0.7;
  EXPECT_THROW(check_noise_options(bad, 100), UsageError);
}

TEST(Augment, ExternalCommand) {
  EXPECT_EQ(run_text_command("tr a-z A-Z", "hello 你好", 10), "HELLO 你好");
  // Large input: stdin and stdout are pumped together, no deadlock.
  std::string big(300000, 'x');
  EXPECT_EQ(run_text_command("cat", big, 20).size(), big.size());
  try {
    run_text_command("exit 3", "x", 10);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("exit status 3"), std::string::npos);
  }
  try {
    run_text_command("sleep 5", "x", 0.3);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("longer than"), std::string::npos);
  }
  EXPECT_THROW(run_text_command("true", "x", 5), Error);  // printed nothing
}
