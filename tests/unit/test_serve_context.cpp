// Serve's context policy: fit_chat_to_context (which whole turns are left out so a chat
// fits, the system prompt and the last user turn always kept), checked against renderings
// of hand-picked message lists; and parse_completion_request with truncate-oldest (the
// default) and error.
#include <gtest/gtest.h>

#include "serve/api_request.h"
#include "serve/context_fit.h"
#include "tokenizer/trainer.h"

namespace chatforge::serve {
namespace {

using nlohmann::json;
using Msgs = std::vector<tok::ChatMessage>;

struct Chat {
  tok::Tokenizer tokenizer;
  tok::ChatFormat format;
  static tok::Tokenizer make() {
    tok::TrainOptions o;
    o.vocab_size = 300;
    o.special_tokens = {"<|im_start|>", "<|im_end|>"};
    return tok::train_bpe_on_text("Hello, how are you today? I am fine. 你好，今天天气很好。", o);
  }
  Chat() : tokenizer(make()), format(tokenizer) {}
  int len(const Msgs& m) const { return static_cast<int>(format.render(m, true).ids.size()); }
};

const tok::ChatMessage S{"system", "You are terse."}, U1{"user", "Hello, how are you today?"},
    A1{"assistant", "I am fine."}, U2{"user", "你好，今天天气很好。"}, A2{"assistant", "今天天气很好。 I am fine, you?"},
    U3{"user", "How are you?"};

void expect_kept(const Chat& c, const FittedChat& f, const Msgs& want, int dropped, bool fits) {
  ASSERT_EQ(f.messages.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(f.messages[i].role, want[i].role) << i;
    EXPECT_EQ(f.messages[i].content, want[i].content) << i;
  }
  EXPECT_EQ(f.ids, c.format.render(want, true).ids);
  EXPECT_EQ(f.dropped, dropped);
  EXPECT_EQ(f.fits, fits);
}

TEST(ServeContext, KeepsAConversationThatFits) {
  Chat c;
  const Msgs all{S, U1, A1, U2, A2, U3};
  const int n = c.len(all);
  expect_kept(c, fit_chat_to_context(c.format, all, n + 10, 10), all, 0, true);  // exactly fits
}

TEST(ServeContext, DropsTheFewestOldestWholeTurnsKeepingTheSystemPrompt) {
  Chat c;
  const Msgs all{S, U1, A1, U2, A2, U3};
  const int reserve = 8;
  // one token short of the whole: the oldest turn (U1, A1) goes, no more
  expect_kept(c, fit_chat_to_context(c.format, all, c.len(all) + reserve - 1, reserve), {S, U2, A2, U3}, 2, true);
  // exactly what S + U2..U3 needs
  const int two = c.len({S, U2, A2, U3});
  expect_kept(c, fit_chat_to_context(c.format, all, two + reserve, reserve), {S, U2, A2, U3}, 2, true);
  // one less: only the system prompt and the last user turn stay
  expect_kept(c, fit_chat_to_context(c.format, all, two + reserve - 1, reserve), {S, U3}, 4, true);
  // not even that fits: the shortest rendering, reported as not fitting
  const int last = c.len({S, U3});
  expect_kept(c, fit_chat_to_context(c.format, all, last + reserve - 1, reserve), {S, U3}, 4, false);
}

TEST(ServeContext, TurnBoundariesWithoutASystemPromptAndWithTrailingOrLeadingAssistants) {
  Chat c;
  // no system message: nothing is pinned but the last turn
  expect_kept(c, fit_chat_to_context(c.format, {U1, A1, U2}, c.len({U2}) + 4, 4), {U2}, 2, true);
  // a conversation ending with an assistant message (a prefilled answer): that turn stays whole
  expect_kept(c, fit_chat_to_context(c.format, {U1, A1, U2, A2}, c.len({U2, A2}) + 4, 4), {U2, A2}, 2, true);
  // an assistant greeting before the first user message goes first, on its own
  const Msgs greeted{S, A1, U1, A2, U3};
  expect_kept(c, fit_chat_to_context(c.format, greeted, c.len({S, U1, A2, U3}) + 4, 4), {S, U1, A2, U3}, 1, true);
  // a single turn cannot be shortened
  expect_kept(c, fit_chat_to_context(c.format, {S, U1}, 4, 4), {S, U1}, 0, false);
  // roles are still validated over the whole list (a system message later than first)
  EXPECT_THROW(fit_chat_to_context(c.format, {U1, S, U2}, 1000, 4), std::exception);
}

// A request body with `turns` user/assistant pairs and a final user message.
std::string chat_body(int turns, const std::string& extra = "") {
  json msgs = json::array({{{"role", "system"}, {"content", S.content}}});
  for (int i = 0; i < turns; ++i) {
    msgs.push_back({{"role", "user"}, {"content", U1.content}});
    msgs.push_back({{"role", "assistant"}, {"content", A2.content}});
  }
  msgs.push_back({{"role", "user"}, {"content", U3.content}});
  return R"({"model":"tiny","messages":)" + msgs.dump() + extra + "}";
}

TEST(ServeContext, ChatRequestsDropOldTurnsByDefaultAndErrorWhenAsked) {
  Chat c;
  // the toy tokenizer spends about a token per character: 512 tokens hold a few turns
  const int C = 512;
  ModelInfo info{"tiny", &c.tokenizer, &c.format, C, 300, "", infer::ContextPolicy::kTruncateOldest, {}, false};
  ASSERT_LT(c.len({S, U1, A2, U3}) + C / 4, C);
  ASSERT_GT(c.len({S, U1, A2, U1, A2, U1, A2, U1, A2, U1, A2, U1, A2, U1, A2, U1, A2, U3}), C);
  ASSERT_EQ(info.context_policy, infer::ContextPolicy::kTruncateOldest);  // the product default
  // short: everything kept, nothing reported
  const auto short_r = parse_completion_request(chat_body(1), true, info);
  EXPECT_EQ(short_r.truncated_messages, 0);
  EXPECT_EQ(short_r.prompt, c.format.render({S, U1, A2, U3}, true).ids);
  // long: the oldest turns go until min(512, C/4) = 128 tokens remain for the answer
  const auto r = parse_completion_request(chat_body(8), true, info);
  ASSERT_GT(r.truncated_messages, 0);
  EXPECT_EQ(r.truncated_messages % 2, 0);  // whole user/assistant pairs
  Msgs kept{S};
  for (int i = 0; i < (16 - r.truncated_messages) / 2; ++i) kept.insert(kept.end(), {U1, A2});
  kept.push_back(U3);
  EXPECT_EQ(r.prompt, c.format.render(kept, true).ids);
  EXPECT_GE(r.max_tokens, C / 4);
  EXPECT_EQ(r.max_tokens, C - static_cast<int>(r.prompt.size()));
  kept.insert(kept.begin() + 1, {U1, A2});  // one more turn would not leave C/4
  EXPECT_GT(c.len(kept) + C / 4, C);
  EXPECT_EQ(r.messages.size(), 18u);  // what is recorded: the request's messages, all of them
  // an explicit max_tokens is the room to leave: more is dropped for more room
  const auto big = parse_completion_request(chat_body(8, R"(,"max_tokens":300)"), true, info);
  EXPECT_GT(big.truncated_messages, r.truncated_messages);
  EXPECT_EQ(big.max_tokens, 300);
  EXPECT_LE(static_cast<int>(big.prompt.size()) + 300, C);
  // room that even the last turn cannot leave: 400 as before
  try {
    const int too_much = C - c.len({S, U3}) + 1;
    parse_completion_request(chat_body(8, ",\"max_tokens\":" + std::to_string(too_much)), true, info);
    ADD_FAILURE() << "no error";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status, 400);
    EXPECT_EQ(e.param, "max_tokens");
    EXPECT_EQ(e.code, "context_length_exceeded");
    EXPECT_NE(std::string(e.what()).find("even after leaving out the 16 oldest messages"), std::string::npos) << e.what();
  }
  // --context-policy error: today's 400 for the long conversation
  info.context_policy = infer::ContextPolicy::kError;
  try {
    parse_completion_request(chat_body(8), true, info);
    ADD_FAILURE() << "no error";
  } catch (const ApiError& e) {
    EXPECT_EQ(e.status, 400);
    EXPECT_EQ(e.param, "messages");
    EXPECT_EQ(e.code, "context_length_exceeded");
  }
  EXPECT_EQ(parse_completion_request(chat_body(1), true, info).truncated_messages, 0);
}

}  // namespace
}  // namespace chatforge::serve
