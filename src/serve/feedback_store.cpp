// FeedbackStore over the SQLite C API (prepared statements only: no SQL built from input).
// Schema changes are additive: a column added later is NULL in older rows, and migrate()
// adds it (ALTER TABLE ... ADD COLUMN) to a database created before it existed.
#include "serve/feedback_store.h"

#include <sqlite3.h>

#include <map>
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

nlohmann::json parse_or_array(const std::string& s) {
  return try_parse_json(s, nullptr).value_or(nlohmann::json::array());
}

std::string dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

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
    // the newest user message joins the conversation's transcript, then the answer
    if (prompt.is_array() && !prompt.empty() && prompt.back().value("role", "") == "user")
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
        .bind(4, dump(sampling))
        .bind(5, dump(prompt))
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

nlohmann::json FeedbackStore::stats() {
  std::lock_guard<std::mutex> lk(mu_);
  nlohmann::json j;
  {
    Stmt q(db_,
           "SELECT (SELECT COUNT(*) FROM conversations), (SELECT COUNT(*) FROM messages WHERE role='assistant'), "
           "(SELECT COUNT(*) FROM feedback WHERE rating=1), (SELECT COUNT(*) FROM feedback WHERE rating=-1), "
           "(SELECT COUNT(*) FROM feedback WHERE comment <> '')");
    q.step();
    j["conversations"] = q.integer(0);
    j["answers"] = q.integer(1);
    j["thumbs_up"] = q.integer(2);
    j["thumbs_down"] = q.integer(3);
    j["comments"] = q.integer(4);
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
    out.write(dump({{"messages", msgs}}) + "\n");
    ++n;
  }
  out.commit();
  return n;
}

size_t FeedbackStore::export_preference(const std::string& out_path) {
  std::lock_guard<std::mutex> lk(mu_);
  // prompt as the model saw it -> (liked answers, disliked answers), in first-seen order
  std::map<std::string, std::pair<std::vector<std::string>, std::vector<std::string>>> by_prompt;
  std::vector<std::string> order;
  Stmt q(db_,
         "SELECT m.prompt_json, m.content, f.rating, m.system_prompt FROM messages m JOIN feedback f ON "
         "f.message_id = m.id WHERE m.role = 'assistant' AND f.rating <> 0 ORDER BY m.id");
  while (q.step()) {
    const std::string key = dump(prompt_as_seen(q.text(0), q.text(3)));  // canonical form
    auto [it, inserted] = by_prompt.try_emplace(key);
    if (inserted) order.push_back(key);
    (q.integer(2) > 0 ? it->second.first : it->second.second).push_back(q.text(1));
  }
  AtomicFile out(out_path);
  size_t n = 0;
  for (const auto& key : order) {
    const auto& [liked, disliked] = by_prompt[key];
    for (const auto& c : liked)
      for (const auto& r : disliked) {
        if (c == r) continue;
        out.write(dump({{"prompt", parse_json(key, "feedback prompt")}, {"chosen", c}, {"rejected", r}}) + "\n");
        ++n;
      }
  }
  out.commit();
  return n;
}

size_t FeedbackStore::export_kto(const std::string& out_path) {
  std::lock_guard<std::mutex> lk(mu_);
  Stmt q(db_,
         "SELECT m.prompt_json, m.content, f.rating, m.system_prompt FROM messages m JOIN feedback f ON "
         "f.message_id = m.id WHERE m.role = 'assistant' AND f.rating <> 0 ORDER BY m.id");
  AtomicFile out(out_path);
  size_t n = 0;
  while (q.step()) {
    out.write(dump({{"prompt", prompt_as_seen(q.text(0), q.text(3))},
                    {"completion", q.text(1)},
                    {"label", q.integer(2) > 0}}) +
              "\n");
    ++n;
  }
  out.commit();
  return n;
}

}  // namespace chatforge::serve
