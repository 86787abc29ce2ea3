// FeedbackStore over the SQLite C API (prepared statements only: no SQL built from input).
// Schema changes are additive: a column added later is NULL in older rows, and migrate()
// adds it (ALTER TABLE ... ADD COLUMN) to a database created before it existed; a table
// added later (pairs, edits) is created by the schema's CREATE TABLE IF NOT EXISTS.
#include "serve/feedback_store.h"

#include <sqlite3.h>

#include <fmt/format.h>

#include <map>
#include <set>
#include <tuple>
#include <vector>

#include "core/error.h"
#include "core/json_util.h"
#include "core/file_io.h"

namespace chatforge::serve {
namespace {

constexpr const char* kSchema = R"SQL(
PRAGMA journal_mode=WAL;
PRAGMA foreign_keys=ON;
CREATE TABLE IF NOT EXISTS conversations(
  id TEXT PRIMARY KEY,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  model TEXT NOT NULL,
  system_prompt TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS messages(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  conversation_id TEXT NOT NULL REFERENCES conversations(id),
  role TEXT NOT NULL,
  content TEXT NOT NULL,
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  model TEXT NOT NULL,
  sampling_json TEXT NOT NULL DEFAULT '{}',
  prompt_json TEXT NOT NULL DEFAULT '[]',
  system_prompt TEXT);  -- assistant rows: the system prompt used ('' none; NULL recorded before it was kept)
CREATE TABLE IF NOT EXISTS feedback(
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id INTEGER NOT NULL UNIQUE REFERENCES messages(id),
  rating INTEGER NOT NULL CHECK (rating IN (-1, 0, 1)),
  comment TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));
CREATE TABLE IF NOT EXISTS pairs(  -- two answers to one prompt compared: chosen picked over rejected
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  chosen_id INTEGER NOT NULL REFERENCES messages(id),
  rejected_id INTEGER NOT NULL REFERENCES messages(id),
  comment TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
  UNIQUE(chosen_id, rejected_id));
CREATE TABLE IF NOT EXISTS edits(  -- an answer corrected by the user: content chosen over the original
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id INTEGER NOT NULL UNIQUE REFERENCES messages(id),
  content TEXT NOT NULL,
  comment TEXT NOT NULL DEFAULT '',
  created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')));
CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages(conversation_id);
)SQL";

// A prepared statement that finalizes itself.
class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    CF_CHECK(sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) == SQLITE_OK, "sqlite: {}", sqlite3_errmsg(db));
  }
  ~Stmt() { sqlite3_finalize(s_); }
  Stmt& bind(int i, const std::string& v) {
    sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, int64_t v) {
    sqlite3_bind_int64(s_, i, v);
    return *this;
  }
  bool step() {  // true: a row is ready
    const int rc = sqlite3_step(s_);
    CF_CHECK(rc == SQLITE_ROW || rc == SQLITE_DONE, "sqlite: {}", sqlite3_errmsg(db_));
    return rc == SQLITE_ROW;
  }
  std::string text(int col) {
    const auto* p = sqlite3_column_text(s_, col);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(s_, col)))
             : std::string();
  }
  int64_t integer(int col) { return sqlite3_column_int64(s_, col); }
  double real(int col) { return sqlite3_column_double(s_, col); }

 private:
  sqlite3* db_;
  sqlite3_stmt* s_ = nullptr;
};

// BEGIN IMMEDIATE ... COMMIT; rolled back when the scope ends without commit().
class Transaction {
 public:
  explicit Transaction(sqlite3* db) : db_(db) {
    CF_CHECK(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK, "sqlite: {}",
             sqlite3_errmsg(db));
  }
  ~Transaction() {
    if (!done_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  void commit() {
    CF_CHECK(sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) == SQLITE_OK, "sqlite: {}", sqlite3_errmsg(db_));
    done_ = true;
  }

 private:
  sqlite3* db_;
  bool done_ = false;
};

nlohmann::json parse_or_array(const std::string& s) {
  return try_parse_json(s, nullptr).value_or(nlohmann::json::array());
}

std::string dump_feedback_json(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

// The prompt the model saw: the request's messages, led by the recorded system prompt when
// the request brought none (it came from the server's --system). A request's own system
// message is the one used, so it stays as it is.
// ([{user Q}], "S") -> [{system S}, {user Q}]; ([{system T}, {user Q}], "T") -> unchanged;
// (prompt, "") -> prompt (no system prompt, or a row recorded before it was kept).
nlohmann::json prompt_as_seen(const std::string& prompt_json, const std::string& system) {
  nlohmann::json msgs = parse_or_array(prompt_json);
  if (system.empty() || !msgs.is_array()) return msgs;
  if (!msgs.empty() && msgs[0].is_object() && msgs[0].value("role", "") == "system") return msgs;
  msgs.insert(msgs.begin(), nlohmann::json{{"role", "system"}, {"content", system}});
  return msgs;
}

}  // namespace

FeedbackStore::FeedbackStore(const std::string& path) : path_(path) {
  const int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    const std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    db_ = nullptr;
    fail("cannot open feedback database {}: {}", path, msg);
  }
  sqlite3_busy_timeout(db_, 5000);
  try {
    exec(kSchema);
    migrate();
  } catch (...) {
    sqlite3_close(db_);
    db_ = nullptr;
    throw;
  }
}

FeedbackStore::~FeedbackStore() { sqlite3_close(db_); }

void FeedbackStore::exec(const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    fail("feedback database {}: {}", path_, msg);
  }
}

// A database written before messages.system_prompt existed gets the column (NULL in its
// rows). Under BEGIN IMMEDIATE, so a server and `chatforge feedback` opening the same old
// file at once add it once.
void FeedbackStore::migrate() {
  exec("BEGIN IMMEDIATE");
  try {
    bool has_system = false;
    Stmt q(db_, "SELECT name FROM pragma_table_info('messages')");
    while (q.step()) has_system = has_system || q.text(0) == "system_prompt";
    if (!has_system) exec("ALTER TABLE messages ADD COLUMN system_prompt TEXT");
    exec("COMMIT");
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

int64_t FeedbackStore::record_answer(const std::string& conversation_id, const std::string& model,
                                     const nlohmann::json& prompt, const std::string& system,
                                     const std::string& answer, const nlohmann::json& sampling) {
  std::lock_guard<std::mutex> lk(mu_);
  exec("BEGIN IMMEDIATE");
  try {
    Stmt(db_, "INSERT OR IGNORE INTO conversations(id, model, system_prompt) VALUES(?,?,?)")
        .bind(1, conversation_id)
        .bind(2, model)
        .bind(3, system)
        .step();
    // the newest user message joins the conversation's transcript, then the answer; a
    // prompt this conversation was already answered for (regenerate, or n > 1) adds no
    // second copy of it
    bool answered_before = false;
    {
      Stmt q(db_, "SELECT 1 FROM messages WHERE conversation_id = ? AND role = 'assistant' AND prompt_json = ? LIMIT 1");
      answered_before = q.bind(1, conversation_id).bind(2, dump_feedback_json(prompt)).step();
    }
    if (!answered_before && prompt.is_array() && !prompt.empty() && prompt.back().is_object() &&
        prompt.back().value("role", "") == "user")
      Stmt(db_, "INSERT INTO messages(conversation_id, role, content, model) VALUES(?, 'user', ?, ?)")
          .bind(1, conversation_id)
          .bind(2, prompt.back().value("content", ""))
          .bind(3, model)
          .step();
    Stmt(db_,
         "INSERT INTO messages(conversation_id, role, content, model, sampling_json, prompt_json, system_prompt) "
         "VALUES(?, 'assistant', ?, ?, ?, ?, ?)")
        .bind(1, conversation_id)
        .bind(2, answer)
        .bind(3, model)
        .bind(4, dump_feedback_json(sampling))
        .bind(5, dump_feedback_json(prompt))
        .bind(6, system)
        .step();
    const int64_t id = sqlite3_last_insert_rowid(db_);
    exec("COMMIT");
    return id;
  } catch (...) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

bool FeedbackStore::rate(int64_t message_id, int rating, const std::string& comment) {
  std::lock_guard<std::mutex> lk(mu_);
  Stmt q(db_, "SELECT 1 FROM messages WHERE id = ? AND role = 'assistant'");
  q.bind(1, message_id);
  if (!q.step()) return false;
  Stmt(db_,
       "INSERT INTO feedback(message_id, rating, comment) VALUES(?,?,?) ON CONFLICT(message_id) DO UPDATE SET "
       "rating = excluded.rating, comment = excluded.comment, created_at = excluded.created_at")
      .bind(1, message_id)
      .bind(2, static_cast<int64_t>(rating))
      .bind(3, comment)
      .step();
  return true;
}

std::optional<FeedbackStore::Answer> FeedbackStore::answer(int64_t message_id) {
  Stmt q(db_, "SELECT prompt_json, system_prompt, content FROM messages WHERE id = ? AND role = 'assistant'");
  q.bind(1, message_id);
  if (!q.step()) return std::nullopt;
  return Answer{dump_feedback_json(prompt_as_seen(q.text(0), q.text(1))), q.text(2)};
}

int64_t FeedbackStore::add_pair(int64_t chosen_id, int64_t rejected_id, const std::string& comment) {
  std::lock_guard<std::mutex> lk(mu_);
  Transaction t(db_);  // the check and the write see the same rows
  const auto chosen = answer(chosen_id), rejected = answer(rejected_id);
  if (!chosen) throw FeedbackRefused(404, "chosen_id", fmt::format("no answer with message_id {}", chosen_id));
  if (!rejected) throw FeedbackRefused(404, "rejected_id", fmt::format("no answer with message_id {}", rejected_id));
  if (chosen->prompt_key != rejected->prompt_key)
    throw FeedbackRefused(400, "rejected_id",
                          fmt::format("answers {} and {} reply to different prompts: a pair compares two answers to "
                                      "the same messages",
                                      chosen_id, rejected_id));
  if (chosen->content == rejected->content)
    throw FeedbackRefused(400, "rejected_id",
                          fmt::format("answers {} and {} have the same text: there is nothing to prefer", chosen_id,
                                      rejected_id));
  // the user changed their mind: the opposite choice between the same two goes
  Stmt(db_, "DELETE FROM pairs WHERE chosen_id = ? AND rejected_id = ?").bind(1, rejected_id).bind(2, chosen_id).step();
  Stmt(db_,
       "INSERT INTO pairs(chosen_id, rejected_id, comment) VALUES(?,?,?) ON CONFLICT(chosen_id, rejected_id) DO "
       "UPDATE SET comment = excluded.comment, created_at = excluded.created_at")
      .bind(1, chosen_id)
      .bind(2, rejected_id)
      .bind(3, comment)
      .step();
  Stmt q(db_, "SELECT id FROM pairs WHERE chosen_id = ? AND rejected_id = ?");
  q.bind(1, chosen_id).bind(2, rejected_id).step();
  const int64_t id = q.integer(0);
  t.commit();
  return id;
}

int64_t FeedbackStore::add_edit(int64_t message_id, const std::string& content, const std::string& comment) {
  std::lock_guard<std::mutex> lk(mu_);
  Transaction t(db_);
  const auto original = answer(message_id);
  if (!original) throw FeedbackRefused(404, "message_id", fmt::format("no answer with message_id {}", message_id));
  if (original->content == content)
    throw FeedbackRefused(400, "content", "'content' is the answer as it was: an edit must change it");
  Stmt(db_,
       "INSERT INTO edits(message_id, content, comment) VALUES(?,?,?) ON CONFLICT(message_id) DO UPDATE SET "
       "content = excluded.content, comment = excluded.comment, created_at = excluded.created_at")
      .bind(1, message_id)
      .bind(2, content)
      .bind(3, comment)
      .step();
  Stmt q(db_, "SELECT id FROM edits WHERE message_id = ?");
  q.bind(1, message_id).step();
  const int64_t id = q.integer(0);
  t.commit();
  return id;
}

nlohmann::json FeedbackStore::stats() {
  std::lock_guard<std::mutex> lk(mu_);
  nlohmann::json j;
  {
    Stmt q(db_,
           "SELECT (SELECT COUNT(*) FROM conversations), (SELECT COUNT(*) FROM messages WHERE role='assistant'), "
           "(SELECT COUNT(*) FROM feedback WHERE rating=1), (SELECT COUNT(*) FROM feedback WHERE rating=-1), "
           "(SELECT COUNT(*) FROM feedback WHERE comment <> ''), (SELECT COUNT(*) FROM pairs), "
           "(SELECT COUNT(*) FROM edits)");
    q.step();
    j["conversations"] = q.integer(0);
    j["answers"] = q.integer(1);
    j["thumbs_up"] = q.integer(2);
    j["thumbs_down"] = q.integer(3);
    j["comments"] = q.integer(4);
    j["pairs"] = q.integer(5);
    j["edits"] = q.integer(6);
    const int64_t rated = q.integer(2) + q.integer(3);
    j["approval_rate"] = rated > 0 ? nlohmann::json(static_cast<double>(q.integer(2)) / rated) : nlohmann::json();
  }
  auto grouped = [&](const char* key_sql) {
    nlohmann::json rows = nlohmann::json::array();
    Stmt q(db_, (std::string("SELECT ") + key_sql +
                 " AS k, COUNT(*), SUM(f.rating = 1), SUM(f.rating = -1) FROM messages m LEFT JOIN feedback f ON "
                 "f.message_id = m.id WHERE m.role = 'assistant' GROUP BY k ORDER BY k")
                    .c_str());
    while (q.step()) {
      const int64_t up = q.integer(2), down = q.integer(3);
      rows.push_back({{"key", q.text(0)},
                      {"answers", q.integer(1)},
                      {"thumbs_up", up},
                      {"thumbs_down", down},
                      {"approval_rate", up + down > 0 ? nlohmann::json(static_cast<double>(up) / (up + down))
                                                      : nlohmann::json()}});
    }
    return rows;
  };
  j["per_model"] = grouped("m.model");
  j["per_day"] = grouped("substr(m.created_at, 1, 10)");
  return j;
}

size_t FeedbackStore::export_sft(const std::string& out_path) {
  std::lock_guard<std::mutex> lk(mu_);
  AtomicFile out(out_path);
  size_t n = 0;
  Stmt q(db_,
         "SELECT m.prompt_json, m.content, m.system_prompt FROM messages m JOIN feedback f ON f.message_id = m.id "
         "WHERE m.role = 'assistant' AND f.rating = 1 ORDER BY m.id");
  while (q.step()) {
    nlohmann::json msgs = prompt_as_seen(q.text(0), q.text(2));
    if (!msgs.is_array()) continue;
    msgs.push_back({{"role", "assistant"}, {"content", q.text(1)}});
    out.write(dump_feedback_json({{"messages", msgs}}) + "\n");
    ++n;
  }
  Stmt e(db_,
         "SELECT m.prompt_json, e.content, m.system_prompt FROM edits e JOIN messages m ON m.id = e.message_id "
         "ORDER BY e.id");
  while (e.step()) {
    nlohmann::json msgs = prompt_as_seen(e.text(0), e.text(2));
    if (!msgs.is_array()) continue;
    msgs.push_back({{"role", "assistant"}, {"content", e.text(1)}});
    out.write(dump_feedback_json({{"messages", msgs}}) + "\n");
    ++n;
  }
  out.commit();
  return n;
}

// Ratings first (every liked x disliked answer to one prompt), then compared pairs, then
// edits, each in the order recorded; a triple seen before is skipped.
std::vector<std::array<std::string, 3>> FeedbackStore::preference_triples() {
  std::vector<std::array<std::string, 3>> triples;
  std::set<std::array<std::string, 3>> seen;
  // ratings' pairs are all kept (the same texts rated twice weigh twice, as always); a pair
  // or edit that repeats a triple already written adds nothing
  auto add = [&](std::array<std::string, 3> t, bool from_ratings) {
    if (t[1] == t[2]) return;
    if (seen.insert(t).second || from_ratings) triples.push_back(std::move(t));
  };
  // prompt as the model saw it -> (liked answers, disliked answers), in first-seen order
  std::map<std::string, std::pair<std::vector<std::string>, std::vector<std::string>>> by_prompt;
  std::vector<std::string> order;
  Stmt q(db_,
         "SELECT m.prompt_json, m.content, f.rating, m.system_prompt FROM messages m JOIN feedback f ON "
         "f.message_id = m.id WHERE m.role = 'assistant' AND f.rating <> 0 ORDER BY m.id");
  while (q.step()) {
    const std::string key = dump_feedback_json(prompt_as_seen(q.text(0), q.text(3)));  // canonical form
    auto [it, inserted] = by_prompt.try_emplace(key);
    if (inserted) order.push_back(key);
    (q.integer(2) > 0 ? it->second.first : it->second.second).push_back(q.text(1));
  }
  for (const auto& key : order) {
    const auto& [liked, disliked] = by_prompt[key];
    for (const auto& c : liked)
      for (const auto& r : disliked) add({key, c, r}, true);
  }
  // a pair's two answers share their prompt (add_pair checks it): the chosen one's is used
  Stmt p(db_,
         "SELECT c.prompt_json, c.system_prompt, c.content, r.content FROM pairs p JOIN messages c ON c.id = "
         "p.chosen_id JOIN messages r ON r.id = p.rejected_id ORDER BY p.id");
  while (p.step()) add({dump_feedback_json(prompt_as_seen(p.text(0), p.text(1))), p.text(2), p.text(3)}, false);
  Stmt e(db_,
         "SELECT m.prompt_json, m.system_prompt, e.content, m.content FROM edits e JOIN messages m ON m.id = "
         "e.message_id ORDER BY e.id");
  while (e.step()) add({dump_feedback_json(prompt_as_seen(e.text(0), e.text(1))), e.text(2), e.text(3)}, false);
  return triples;
}

size_t FeedbackStore::export_preference(const std::string& out_path) {
  std::lock_guard<std::mutex> lk(mu_);
  const auto triples = preference_triples();
  AtomicFile out(out_path);
  for (const auto& [key, chosen, rejected] : triples)
    out.write(dump_feedback_json({{"prompt", parse_json(key, "feedback prompt")}, {"chosen", chosen}, {"rejected", rejected}}) + "\n");
  out.commit();
  return triples.size();
}

size_t FeedbackStore::export_kto(const std::string& out_path) {
  std::lock_guard<std::mutex> lk(mu_);
  AtomicFile out(out_path);
  size_t n = 0;
  std::set<std::tuple<std::string, std::string, bool>> seen;
  // every rated answer is written (as always); a pair's or edit's answer already written
  // with the same label is not written again
  auto write = [&](const std::string& key, const std::string& completion, bool label, bool rated = false) {
    if (!seen.emplace(key, completion, label).second && !rated) return;
    out.write(dump_feedback_json({{"prompt", parse_json(key, "feedback prompt")}, {"completion", completion}, {"label", label}}) +
              "\n");
    ++n;
  };
  {
    Stmt q(db_,
           "SELECT m.prompt_json, m.content, f.rating, m.system_prompt FROM messages m JOIN feedback f ON "
           "f.message_id = m.id WHERE m.role = 'assistant' AND f.rating <> 0 ORDER BY m.id");
    while (q.step()) write(dump_feedback_json(prompt_as_seen(q.text(0), q.text(3))), q.text(1), q.integer(2) > 0, true);
  }
  // pairs and edits: the preferred text liked, the other disliked
  Stmt p(db_,
         "SELECT c.prompt_json, c.system_prompt, c.content, r.content FROM pairs p JOIN messages c ON c.id = "
         "p.chosen_id JOIN messages r ON r.id = p.rejected_id ORDER BY p.id");
  while (p.step()) {
    const std::string key = dump_feedback_json(prompt_as_seen(p.text(0), p.text(1)));
    write(key, p.text(2), true);
    write(key, p.text(3), false);
  }
  Stmt e(db_,
         "SELECT m.prompt_json, m.system_prompt, e.content, m.content FROM edits e JOIN messages m ON m.id = "
         "e.message_id ORDER BY e.id");
  while (e.step()) {
    const std::string key = dump_feedback_json(prompt_as_seen(e.text(0), e.text(1)));
    write(key, e.text(2), true);
    write(key, e.text(3), false);
  }
  out.commit();
  return n;
}

}  // namespace chatforge::serve
