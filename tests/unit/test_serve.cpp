// Serve layer units: request validation (every field type-checked, 4xx with the field
// named, context limits), the OpenAI error object, and the feedback store (record, rate,
// re-rate, stats, SFT and preference exports; the system prompt an answer was generated
// with; a database from before that column, migrated) against hand-written expectations.
#include <gtest/gtest.h>

#include <sqlite3.h>

#include <filesystem>

#include "core/file_io.h"
#include "serve/api_request.h"
#include "serve/feedback_store.h"
#include "tokenizer/trainer.h"
#include "test_util.h"

namespace chatforge::serve {
namespace {

using nlohmann::json;

struct ServeFixture {
  tok::Tokenizer tokenizer;
  tok::ChatFormat format;
  ModelInfo info;
  static tok::Tokenizer make() {
    tok::TrainOptions o;
    o.vocab_size = 300;
    o.special_tokens = {"<|im_start|>", "<|im_end|>"};
    return tok::train_bpe_on_text("Hello, how are you today? I am fine. 你好，今天天气很好。", o);
  }
  ServeFixture() : tokenizer(make()), format(tokenizer) { info = {"tiny", &tokenizer, &format, 64, 300, "", infer::ContextPolicy::kTruncateOldest, {}}; }
};

std::vector<json> read_feedback_jsonl(const std::string& path) {
  std::vector<json> out;
  std::string text = read_file(path), cur;
  for (char ch : text)
    if (ch == '\n') out.push_back(json::parse(cur)), cur.clear();
    else cur += ch;
  EXPECT_EQ(cur, "") << path << " does not end in a newline";
  return out;
}

ApiError error_of(const std::string& body, bool chat, const ModelInfo& info) {
  try {
    parse_completion_request(body, chat, info);
  } catch (const ApiError& e) {
    return e;
  }
  ADD_FAILURE() << "no error for " << body;
  return ApiError(0, "");
}

TEST(ServeApi, ParsesAValidChatRequest) {
  ServeFixture f;
  const auto r = parse_completion_request(
      R"({"model":"tiny","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"你好"}],
          "max_tokens":5,"temperature":0.5,"top_p":0.9,"seed":42,"n":2,"stop":"\n","stream":true,
          "stream_options":{"include_usage":true},"logprobs":true,"top_logprobs":2,"conversation_id":"c1"})",
      true, f.info);
  EXPECT_EQ(r.prompt, f.format.render({{"system", "Be brief."}, {"user", "你好"}}, true).ids);
  EXPECT_EQ(r.max_tokens, 5);
  EXPECT_FLOAT_EQ(r.sampling.temperature, 0.5f);
  EXPECT_FLOAT_EQ(r.sampling.top_p, 0.9f);
  EXPECT_EQ(r.sampling.seed, 42u);
  EXPECT_EQ(r.n, 2);
  EXPECT_EQ(r.stop, std::vector<std::string>{"\n"});
  EXPECT_TRUE(r.stream && r.include_usage && r.logprobs);
  EXPECT_EQ(r.top_logprobs, 2);
  EXPECT_EQ(r.conversation_id, "c1");
  EXPECT_EQ(r.messages, json::parse(R"([{"role":"system","content":"Be brief."},{"role":"user","content":"你好"}])"));
}

TEST(ServeApi, DefaultSystemPromptOnlyWhenTheRequestHasNone) {
  ServeFixture f;
  f.info.default_system = "Be brief.";
  const auto without = parse_completion_request(R"({"model":"tiny","messages":[{"role":"user","content":"你好"}]})",
                                                true, f.info);
  EXPECT_EQ(without.prompt, f.format.render({{"system", "Be brief."}, {"user", "你好"}}, true).ids);
  const auto with = parse_completion_request(
      R"({"model":"tiny","messages":[{"role":"system","content":"Hi."},{"role":"user","content":"你好"}]})", true,
      f.info);
  EXPECT_EQ(with.prompt, f.format.render({{"system", "Hi."}, {"user", "你好"}}, true).ids);
  // the system prompt the answer is generated with, for the feedback store; messages as sent
  EXPECT_EQ(without.system_prompt, "Be brief.");
  EXPECT_EQ(without.messages, json::parse(R"([{"role":"user","content":"你好"}])"));
  EXPECT_EQ(with.system_prompt, "Hi.");
  f.info.default_system.clear();
  EXPECT_EQ(parse_completion_request(R"({"model":"tiny","messages":[{"role":"user","content":"你好"}]})", true, f.info)
                .system_prompt,
            "");
  EXPECT_EQ(parse_completion_request(
                R"({"model":"tiny","messages":[{"role":"developer","content":"Dev."},{"role":"user","content":"你好"}]})",
                true, f.info)
                .system_prompt,
            "Dev.");
}

TEST(ServeApi, DefaultMaxTokensFillsTheContext) {
  ServeFixture f;
  const auto r = parse_completion_request(R"({"model":"tiny","prompt":"Hello"})", false, f.info);
  EXPECT_EQ(r.prompt, f.tokenizer.encode("Hello", false));
  EXPECT_EQ(r.max_tokens, 64 - static_cast<int>(r.prompt.size()));
}

TEST(ServeApi, RejectsBadFieldsNamingThem) {
  ServeFixture f;
  const std::string msgs = R"("messages":[{"role":"user","content":"Hello"}])";
  struct Case {
    std::string body;
    int status;
    std::string param, code;
  };
  const std::vector<Case> cases = {
      {"{", 400, "", "invalid_json"},
      {"[]", 400, "", "invalid_json"},
      {R"({"messages":[]})", 400, "model", "missing_required_parameter"},
      {R"({"model":"gpt-4",)" + msgs + "}", 404, "model", "model_not_found"},
      {R"({"model":7,)" + msgs + "}", 400, "model", "invalid_type"},
      {R"({"model":"tiny","messages":"hi"})", 400, "messages", "invalid_value"},
      {R"({"model":"tiny","messages":[{"role":"robot","content":"x"}]})", 400, "messages[0].role", "invalid_value"},
      {R"({"model":"tiny","messages":[{"role":"user","content":5}]})", 400, "messages[0].content", "invalid_type"},
      {R"({"model":"tiny","messages":[{"role":"user","content":"x"},{"role":"system","content":"y"}]})", 400,
       "messages", "invalid_value"},
      {R"({"model":"tiny",)" + msgs + R"(,"temperature":"hot"})", 400, "temperature", "invalid_type"},
      {R"({"model":"tiny",)" + msgs + R"(,"temperature":2.5})", 400, "temperature", "invalid_value"},
      {R"({"model":"tiny",)" + msgs + R"(,"n":9})", 400, "n", "invalid_value"},
      {R"({"model":"tiny",)" + msgs + R"(,"max_tokens":0})", 400, "max_tokens", "invalid_value"},
      {R"({"model":"tiny",)" + msgs + R"(,"max_tokens":60})", 400, "max_tokens", "context_length_exceeded"},
      {R"({"model":"tiny",)" + msgs + R"(,"max_tokens":1.5})", 400, "max_tokens", "invalid_type"},
      {R"({"model":"tiny",)" + msgs + R"(,"stop":["a","b","c","d","e"]})", 400, "stop", "invalid_type"},
      {R"({"model":"tiny",)" + msgs + R"(,"seed":"x"})", 400, "seed", "invalid_type"},
      {R"({"model":"tiny",)" + msgs + R"(,"top_logprobs":3})", 400, "top_logprobs", "invalid_value"},
      {R"({"model":"tiny",)" + msgs + R"(,"logit_bias":{"999":1}})", 400, "logit_bias", "invalid_value"},
      {R"({"model":"tiny",)" + msgs + R"(,"stream":"yes"})", 400, "stream", "invalid_type"},
      {R"({"model":"tiny","messages":[{"role":"user","content":")" + std::string(300, 'x') + R"("}]})", 400,
       "messages", "context_length_exceeded"},
  };
  for (const auto& c : cases) {
    const ApiError e = error_of(c.body, true, f.info);
    EXPECT_EQ(e.status, c.status) << c.body;
    EXPECT_EQ(e.param, c.param) << c.body;
    EXPECT_EQ(e.code, c.code) << c.body;
    const json b = e.body();
    EXPECT_EQ(b["error"]["type"], "invalid_request_error");
    EXPECT_TRUE(b["error"]["message"].is_string() && !b["error"]["message"].get<std::string>().empty());
  }
  EXPECT_EQ(error_of(R"({"model":"tiny","prompt":5})", false, f.info).param, "prompt");
  EXPECT_EQ(error_of(R"({"model":"tiny","prompt":"hi","logprobs":6})", false, f.info).param, "logprobs");
}

TEST(ServeApi, FeedbackRequests) {
  const auto f = parse_feedback_request(R"({"message_id":3,"rating":-1,"comment":"太长"})");
  EXPECT_EQ(f.message_id, 3);
  EXPECT_EQ(f.rating, -1);
  EXPECT_EQ(f.comment, "太长");
  for (const char* bad : {"{}", R"({"message_id":3})", R"({"message_id":3,"rating":2})", R"({"message_id":"3","rating":1})",
                          R"({"message_id":0,"rating":1})", R"({"message_id":3,"rating":1,"comment":1})"})
    EXPECT_THROW(parse_feedback_request(bad), ApiError) << bad;
  const auto p = parse_feedback_request(R"({"kind":"pair","chosen_id":4,"rejected_id":3,"comment":"B is right"})");
  EXPECT_EQ(p.kind, FeedbackKind::kPair);
  EXPECT_EQ(p.chosen_id, 4);
  EXPECT_EQ(p.rejected_id, 3);
  const auto e = parse_feedback_request(R"({"kind":"edit","message_id":5,"content":"X2 售价 899 元。"})");
  EXPECT_EQ(e.kind, FeedbackKind::kEdit);
  EXPECT_EQ(e.message_id, 5);
  EXPECT_EQ(e.content, "X2 售价 899 元。");
  EXPECT_EQ(parse_feedback_request(R"({"kind":"rating","message_id":3,"rating":1})").kind, FeedbackKind::kRating);
  // each bad body is refused naming the field at fault
  for (const auto& [bad, param] : std::vector<std::pair<std::string, std::string>>{
           {R"({"kind":"vote","message_id":3,"rating":1})", "kind"},
           {R"({"kind":1,"message_id":3,"rating":1})", "kind"},
           {R"({"kind":"pair","chosen_id":4})", "rejected_id"},
           {R"({"kind":"pair","rejected_id":4})", "chosen_id"},
           {R"({"kind":"pair","chosen_id":4,"rejected_id":4})", "rejected_id"},
           {R"({"kind":"pair","chosen_id":"4","rejected_id":3})", "chosen_id"},
           {R"({"kind":"pair","chosen":4,"rejected_id":3})", "chosen"},
           {R"({"kind":"pair","chosen_id":4,"rejected_id":3,"rating":1})", "rating"},
           {R"({"kind":"edit","message_id":5})", "content"},
           {R"({"kind":"edit","message_id":5,"content":"  \n"})", "content"},
           {R"({"kind":"edit","message_id":5,"content":["x"]})", "content"},
           {R"({"kind":"edit","content":"x"})", "message_id"},
           {R"({"message_id":3,"rating":1,"content":"x"})", "content"},
           {R"({"message_id":3,"rating":1,"extra":true})", "extra"}}) {
    try {
      parse_feedback_request(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const ApiError& err) {
      EXPECT_EQ(err.status, 400) << bad;
      EXPECT_EQ(err.param, param) << bad;
    }
  }
}

TEST(ServeFeedback, RecordsRatesAndExports) {
  const std::string dir = chatforge::testing::temp_dir("unit_serve_feedback");
  const std::string db = dir + "/fb.sqlite";
  const json prompt = json::parse(R"([{"role":"system","content":"S"},{"role":"user","content":"Q 你好"}])");
  const json other = json::parse(R"([{"role":"user","content":"Other"}])");
  int64_t a, b, c, d;
  {
    FeedbackStore s(db);
    a = s.record_answer("conv", "m1", prompt, "S", "good answer", {{"temperature", 0.7}});
    b = s.record_answer("conv", "m1", prompt, "S", "bad answer", {{"temperature", 0.7}});
    c = s.record_answer("conv", "m2", prompt, "S", "also good", json::object());
    d = s.record_answer("conv2", "m2", other, "", "meh", json::object());
    EXPECT_TRUE(s.rate(a, 1, ""));
    EXPECT_TRUE(s.rate(b, 1, "first thought"));
    EXPECT_TRUE(s.rate(b, -1, "wrong"));  // a later rating replaces the earlier one
    EXPECT_TRUE(s.rate(c, 1, "nice"));
    EXPECT_TRUE(s.rate(d, -1, ""));
    EXPECT_FALSE(s.rate(d + 100, 1, ""));
  }
  FeedbackStore s(db);  // reopened: everything persisted
  const json st = s.stats();
  EXPECT_EQ(st["conversations"], 2);
  EXPECT_EQ(st["answers"], 4);
  EXPECT_EQ(st["thumbs_up"], 2);
  EXPECT_EQ(st["thumbs_down"], 2);
  EXPECT_EQ(st["comments"], 2);
  EXPECT_DOUBLE_EQ(st["approval_rate"].get<double>(), 0.5);
  ASSERT_EQ(st["per_model"].size(), 2u);
  EXPECT_EQ(st["per_model"][0]["key"], "m1");
  EXPECT_DOUBLE_EQ(st["per_model"][0]["approval_rate"].get<double>(), 0.5);
  EXPECT_EQ(st["per_day"].size(), 1u);

  EXPECT_EQ(s.export_sft(dir + "/sft.jsonl"), 2u);
  std::vector<json> lines;
  for (const auto& line : [&] {
         std::vector<std::string> v;
         std::string text = read_file(dir + "/sft.jsonl"), cur;
         for (char ch : text)
           if (ch == '\n') v.push_back(cur), cur.clear();
           else cur += ch;
         return v;
       }())
    lines.push_back(json::parse(line));
  ASSERT_EQ(lines.size(), 2u);
  json m0 = prompt, m1 = prompt;
  m0.push_back({{"role", "assistant"}, {"content", "good answer"}});
  m1.push_back({{"role", "assistant"}, {"content", "also good"}});
  EXPECT_EQ(lines[0], json({{"messages", m0}}));
  EXPECT_EQ(lines[1], json({{"messages", m1}}));

  EXPECT_EQ(s.export_preference(dir + "/pref.jsonl"), 2u);
  const std::string pref = read_file(dir + "/pref.jsonl");
  const size_t nl = pref.find('\n');
  EXPECT_EQ(json::parse(pref.substr(0, nl)), json({{"prompt", prompt}, {"chosen", "good answer"}, {"rejected", "bad answer"}}));
  EXPECT_EQ(json::parse(pref.substr(nl + 1)), json({{"prompt", prompt}, {"chosen", "also good"}, {"rejected", "bad answer"}}));
}

// An answer generated with the server's --system (the request had no system message) is
// exported the way the model saw it: that system prompt first. The request's own system
// message is the one used and stays as it is; no system prompt at all adds nothing.
TEST(ServeFeedback, ExportsLeadWithTheSystemPromptUsed) {
  const std::string dir = chatforge::testing::temp_dir("unit_serve_feedback_system");
  FeedbackStore s(dir + "/fb.sqlite");
  const json bare = json::parse(R"([{"role":"user","content":"X2 多少钱？"}])");
  const json own = json::parse(R"([{"role":"system","content":"Own."},{"role":"user","content":"Q"}])");
  const json plain = json::parse(R"([{"role":"user","content":"Hi"}])");
  const int64_t a = s.record_answer("c1", "m", bare, "Server default.", "899元。", json::object());
  const int64_t b = s.record_answer("c1", "m", bare, "Server default.", "不知道。", json::object());
  const int64_t c = s.record_answer("c2", "m", own, "Own.", "A", json::object());
  const int64_t d = s.record_answer("c3", "m", plain, "", "Hello!", json::object());
  // the same messages answered under another --system are another prompt for preference pairs
  const int64_t e = s.record_answer("c4", "m", bare, "Other default.", "不知道。", json::object());
  for (int64_t id : {a, c, d}) EXPECT_TRUE(s.rate(id, 1, ""));
  for (int64_t id : {b, e}) EXPECT_TRUE(s.rate(id, -1, ""));

  ASSERT_EQ(s.export_sft(dir + "/sft.jsonl"), 3u);
  const auto sft = read_feedback_jsonl(dir + "/sft.jsonl");
  ASSERT_EQ(sft.size(), 3u);
  EXPECT_EQ(sft[0], json::parse(R"({"messages":[{"role":"system","content":"Server default."},
      {"role":"user","content":"X2 多少钱？"},{"role":"assistant","content":"899元。"}]})"));
  EXPECT_EQ(sft[1], json::parse(R"({"messages":[{"role":"system","content":"Own."},{"role":"user","content":"Q"},
      {"role":"assistant","content":"A"}]})"));
  EXPECT_EQ(sft[2], json::parse(R"({"messages":[{"role":"user","content":"Hi"},{"role":"assistant","content":"Hello!"}]})"));

  ASSERT_EQ(s.export_preference(dir + "/pref.jsonl"), 1u);
  EXPECT_EQ(read_feedback_jsonl(dir + "/pref.jsonl")[0],
            json::parse(R"({"prompt":[{"role":"system","content":"Server default."},{"role":"user","content":"X2 多少钱？"}],
                "chosen":"899元。","rejected":"不知道。"})"));

  // kto: every rated answer with its label, in the order answered, prompt as the model saw it
  ASSERT_EQ(s.export_kto(dir + "/kto.jsonl"), 5u);
  const auto kto = read_feedback_jsonl(dir + "/kto.jsonl");
  ASSERT_EQ(kto.size(), 5u);
  EXPECT_EQ(kto[0], json::parse(R"({"prompt":[{"role":"system","content":"Server default."},{"role":"user","content":"X2 多少钱？"}],
      "completion":"899元。","label":true})"));
  EXPECT_EQ(kto[1]["label"], false);
  EXPECT_EQ(kto[1]["completion"], "不知道。");
  EXPECT_EQ(kto[3], json::parse(R"({"prompt":[{"role":"user","content":"Hi"}],"completion":"Hello!","label":true})"));
  EXPECT_EQ(kto[4]["prompt"][0]["content"], "Other default.");
  EXPECT_EQ(kto[4]["label"], false);
}

// A database written before the system prompt was kept (the schema as it was, filled with
// raw SQL): opening it adds the column without losing a row, its answers export exactly as
// before, new answers keep their system prompt, and reopening changes nothing.
TEST(ServeFeedback, MigratesADatabaseFromBeforeTheSystemPrompt) {
  const std::string dir = chatforge::testing::temp_dir("unit_serve_feedback_migrate");
  const std::string db = dir + "/old.sqlite";
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
    const char* old_schema = R"SQL(
CREATE TABLE conversations(id TEXT PRIMARY KEY,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  model TEXT NOT NULL, system_prompt TEXT NOT NULL DEFAULT '');
CREATE TABLE messages(id INTEGER PRIMARY KEY AUTOINCREMENT,
  conversation_id TEXT NOT NULL REFERENCES conversations(id), role TEXT NOT NULL, content TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')), model TEXT NOT NULL,
  sampling_json TEXT NOT NULL DEFAULT '{}', prompt_json TEXT NOT NULL DEFAULT '[]');
CREATE TABLE feedback(id INTEGER PRIMARY KEY AUTOINCREMENT, message_id INTEGER NOT NULL UNIQUE REFERENCES messages(id),
  rating INTEGER NOT NULL CHECK (rating IN (-1, 0, 1)), comment TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));
INSERT INTO conversations(id, model, system_prompt) VALUES('old', 'm0', '');
INSERT INTO messages(conversation_id, role, content, model) VALUES('old', 'user', 'Old question', 'm0');
INSERT INTO messages(conversation_id, role, content, model, prompt_json) VALUES('old', 'assistant', 'Old good', 'm0',
  '[{"role":"user","content":"Old question"}]');
INSERT INTO messages(conversation_id, role, content, model, prompt_json) VALUES('old', 'assistant', 'Old bad', 'm0',
  '[{"role":"user","content":"Old question"}]');
INSERT INTO feedback(message_id, rating, comment) VALUES(2, 1, 'kept'), (3, -1, '');
)SQL";
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(raw, old_schema, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
    sqlite3_close(raw);
  }
  const json old_prompt = json::parse(R"([{"role":"user","content":"Old question"}])");
  const json old_sft = {{"messages", json::parse(R"([{"role":"user","content":"Old question"},
                                                      {"role":"assistant","content":"Old good"}])")}};
  const json old_pref = {{"prompt", old_prompt}, {"chosen", "Old good"}, {"rejected", "Old bad"}};
  {
    FeedbackStore s(db);
    const json st = s.stats();
    EXPECT_EQ(st["answers"], 2);
    EXPECT_EQ(st["thumbs_up"], 1);
    EXPECT_EQ(st["comments"], 1);
    ASSERT_EQ(s.export_sft(dir + "/sft_old.jsonl"), 1u);
    EXPECT_EQ(read_feedback_jsonl(dir + "/sft_old.jsonl"), std::vector<json>{old_sft});
    ASSERT_EQ(s.export_preference(dir + "/pref_old.jsonl"), 1u);
    EXPECT_EQ(read_feedback_jsonl(dir + "/pref_old.jsonl"), std::vector<json>{old_pref});
    // the same question now answered under a --system prompt: its own pair, led by it
    const int64_t n = s.record_answer("new", "m1", old_prompt, "Sys.", "New good", json::object());
    EXPECT_TRUE(s.rate(n, 1, ""));
  }
  FeedbackStore s(db);  // reopened: the migration does not run twice, nothing changed
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &raw), SQLITE_OK);
    sqlite3_stmt* q = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(raw, "SELECT id, system_prompt IS NULL, system_prompt FROM messages WHERE role = "
                                      "'assistant' ORDER BY id", -1, &q, nullptr), SQLITE_OK);
    std::vector<std::string> rows;
    while (sqlite3_step(q) == SQLITE_ROW) {
      const auto* t = sqlite3_column_text(q, 2);
      rows.push_back(std::to_string(sqlite3_column_int64(q, 0)) + (sqlite3_column_int(q, 1) ? " NULL" : " ") +
                     (t ? reinterpret_cast<const char*>(t) : ""));
    }
    sqlite3_finalize(q);
    sqlite3_close(raw);
    EXPECT_EQ(rows, (std::vector<std::string>{"2 NULL", "3 NULL", "5 Sys."}));
  }
  EXPECT_EQ(s.stats()["answers"], 3);
  ASSERT_EQ(s.export_sft(dir + "/sft.jsonl"), 2u);
  const json new_sft = {{"messages", json::parse(R"([{"role":"system","content":"Sys."},
      {"role":"user","content":"Old question"},{"role":"assistant","content":"New good"}])")}};
  EXPECT_EQ(read_feedback_jsonl(dir + "/sft.jsonl"), (std::vector<json>{old_sft, new_sft}));
  ASSERT_EQ(s.export_preference(dir + "/pref.jsonl"), 1u);  // the new answer has no disliked partner
  EXPECT_EQ(read_feedback_jsonl(dir + "/pref.jsonl"), std::vector<json>{old_pref});
  // the old file gained the pairs and edits tables: old answers can be compared and edited
  EXPECT_GT(s.add_pair(3, 2, ""), 0);
  EXPECT_GT(s.add_edit(3, "Old fixed", ""), 0);
  const json st = s.stats();
  EXPECT_EQ(st["pairs"], 1);
  EXPECT_EQ(st["edits"], 1);
  ASSERT_EQ(s.export_preference(dir + "/pref2.jsonl"), 3u);
  EXPECT_EQ(read_feedback_jsonl(dir + "/pref2.jsonl"),
            (std::vector<json>{old_pref,
                               {{"prompt", old_prompt}, {"chosen", "Old bad"}, {"rejected", "Old good"}},
                               {{"prompt", old_prompt}, {"chosen", "Old fixed"}, {"rejected", "Old bad"}}}));
}

// Regenerate-and-compare pairs and edits: validated against the answers they name, stored
// once per pair/answer (a later choice replaces an earlier one), and exported as preference
// pairs (after the ratings' pairs, a repeated triple once) and as KTO's liked/disliked rows.
TEST(ServeFeedback, PairsAndEdits) {
  const std::string dir = chatforge::testing::temp_dir("unit_serve_feedback_pairs");
  FeedbackStore s(dir + "/fb.sqlite");
  const json q = json::parse(R"([{"role":"user","content":"X2 多少钱？"}])");
  const json seen = json::parse(R"([{"role":"system","content":"Sys."},{"role":"user","content":"X2 多少钱？"}])");
  const json other = json::parse(R"([{"role":"user","content":"Hi"}])");
  const int64_t a = s.record_answer("c1", "m", q, "Sys.", "899元。", json::object());
  const int64_t b = s.record_answer("c1", "m", q, "Sys.", "不知道。", json::object());  // regenerated
  const int64_t c = s.record_answer("c1", "m", q, "Sys.", "899元。", json::object());  // same text as a
  const int64_t d = s.record_answer("c2", "m", other, "Sys.", "Hello!", json::object());
  const int64_t e = s.record_answer("c3", "m", q, "Other.", "nope", json::object());  // another --system
  // regenerating adds the answer, not a second copy of the user's message
  {
    sqlite3* raw = nullptr;
    ASSERT_EQ(sqlite3_open((dir + "/fb.sqlite").c_str(), &raw), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(raw, "SELECT COUNT(*) FROM messages WHERE conversation_id = 'c1' AND role = 'user'", -1,
                                 &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    sqlite3_close(raw);
  }
  auto refused = [&](auto&& call) -> std::pair<int, std::string> {
    try {
      call();
    } catch (const FeedbackRefused& r) {
      return {r.status, r.param};
    }
    return {200, ""};
  };
  EXPECT_EQ(refused([&] { s.add_pair(a, d, ""); }), std::make_pair(400, std::string("rejected_id")));  // other prompt
  EXPECT_EQ(refused([&] { s.add_pair(a, e, ""); }), std::make_pair(400, std::string("rejected_id")));  // other system
  EXPECT_EQ(refused([&] { s.add_pair(a, c, ""); }), std::make_pair(400, std::string("rejected_id")));  // same text
  EXPECT_EQ(refused([&] { s.add_pair(a + 100, b, ""); }), std::make_pair(404, std::string("chosen_id")));
  EXPECT_EQ(refused([&] { s.add_pair(a, b + 100, ""); }), std::make_pair(404, std::string("rejected_id")));
  EXPECT_EQ(refused([&] { s.add_edit(a - 1, "x", ""); }), std::make_pair(404, std::string("message_id")));  // a user row
  EXPECT_EQ(refused([&] { s.add_edit(d, "Hello!", ""); }), std::make_pair(400, std::string("content")));
  EXPECT_EQ(s.stats()["pairs"], 0);

  const int64_t p1 = s.add_pair(b, a, "first pick");
  EXPECT_EQ(s.add_pair(a, b, "changed my mind"), p1 + 1);  // replaces the opposite choice
  EXPECT_EQ(s.add_pair(a, b, "again"), p1 + 1);            // the same choice again: one row
  const int64_t e1 = s.add_edit(d, "Hi there!", "");
  EXPECT_EQ(s.add_edit(d, "Hello, how can I help?", "friendlier"), e1);  // one edit per answer
  s.add_edit(b, "X2 售价 899 元。", "");
  EXPECT_TRUE(s.rate(a, 1, ""));
  EXPECT_TRUE(s.rate(b, -1, ""));  // the ratings give (a, b) too: written once
  const json st = s.stats();
  EXPECT_EQ(st["pairs"], 1);
  EXPECT_EQ(st["edits"], 2);

  ASSERT_EQ(s.export_preference(dir + "/pref.jsonl"), 3u);
  EXPECT_EQ(read_feedback_jsonl(dir + "/pref.jsonl"),
            (std::vector<json>{{{"prompt", seen}, {"chosen", "899元。"}, {"rejected", "不知道。"}},
                               {{"prompt", json::parse(R"([{"role":"system","content":"Sys."},{"role":"user","content":"Hi"}])")},
                                {"chosen", "Hello, how can I help?"},
                                {"rejected", "Hello!"}},
                               {{"prompt", seen}, {"chosen", "X2 售价 899 元。"}, {"rejected", "不知道。"}}}));
  // kto: the ratings, then the pair (already there), then each edit as liked + original disliked
  ASSERT_EQ(s.export_kto(dir + "/kto.jsonl"), 5u);
  const auto kto = read_feedback_jsonl(dir + "/kto.jsonl");
  std::vector<std::pair<std::string, bool>> rows;
  for (const auto& k : kto) rows.emplace_back(k["completion"].get<std::string>(), k["label"].get<bool>());
  EXPECT_EQ(rows, (std::vector<std::pair<std::string, bool>>{
                      {"899元。", true}, {"不知道。", false}, {"Hello, how can I help?", true}, {"Hello!", false},
                      {"X2 售价 899 元。", true}}));
  EXPECT_EQ(kto[0]["prompt"], seen);
  // sft: the liked answer, then the edits
  ASSERT_EQ(s.export_sft(dir + "/sft.jsonl"), 3u);
  EXPECT_EQ(read_feedback_jsonl(dir + "/sft.jsonl")[2]["messages"].back(),
            json({{"role", "assistant"}, {"content", "X2 售价 899 元。"}}));
}

}  // namespace
}  // namespace chatforge::serve
