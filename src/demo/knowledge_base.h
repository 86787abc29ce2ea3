// The demo's fictional company and product (Nimbus Home, the AeroBrew X2 smart coffee
// maker) as a table of intents: for each language the training question phrasings, the
// held-out phrasings kept for evaluation only, the canonical answer and the key facts an
// answer must contain to count as right. All text is original to chatforge.
#pragma once
#include <string_view>
#include <vector>

namespace chatforge::demo {

enum class Lang { kEn, kZh };
inline const char* lang_code(Lang l) { return l == Lang::kEn ? "en" : "zh"; }

// "{p}" in a question stands for a way of naming the product (see product_names()); the
// slots "{amount}", "{color}", "{place}", "{day}", "{card}" and "{n}" for one of
// slot_values() (a price, a colour, a country, a time, a payment card, a head count).
struct IntentText {
  std::vector<std::string_view> questions;  // used for training data and pretraining prose
  std::vector<std::string_view> heldout;    // never in any training file
  std::string_view answer;
  std::vector<std::string_view> facts;      // each must appear in a right answer
  std::vector<std::string_view> topics;     // noun phrases for the shared question frames
  // What an elliptical follow-up names ("shipping" in "And shipping?", "运费" in
  // "那运费呢？"): short, and only this intent's.
  std::vector<std::string_view> follow;
};

struct Intent {
  std::string_view key;    // "price", "warranty", ...
  std::string_view topic;  // "pricing", "shipping", "returns", "product", "troubleshooting", "account"
  IntentText en, zh;
  const IntentText& text(Lang l) const { return l == Lang::kEn ? en : zh; }
};

const std::vector<Intent>& intents();

// Question frames shared by every intent: "{t}" takes one of the intent's topics
// ("Could you explain {t}?" + "the return policy"). They give the training questions the
// variety that teaches a small model to key on the topic words, not on whole sentences.
const std::vector<std::string_view>& question_frames(Lang l);

// The values a question's slot takes ("amount" -> "$150", "color" -> "silver"); empty for
// an unknown slot name.
const std::vector<std::string_view>& slot_values(Lang l, std::string_view slot);

// Ways to name the product inside a question ("the AeroBrew X2", "这台咖啡机", ...).
const std::vector<std::string_view>& product_names(Lang l);
// Conversational wrappers around a question: greetings before, thanks after.
const std::vector<std::string_view>& question_prefixes(Lang l);
const std::vector<std::string_view>& question_suffixes(Lang l);
// Openers before an answer ("Sure! ", "好的，").
const std::vector<std::string_view>& answer_openers(Lang l);
// Lead-ins of a follow-up question in a multi-turn chat ("Also, ", "另外，").
const std::vector<std::string_view>& follow_up_leads(Lang l);
// Elliptical follow-ups: "{f}" takes one of an intent's `follow` nouns ("And {f}?",
// "那{f}呢？"); only meaningful after an earlier question.
const std::vector<std::string_view>& follow_up_frames(Lang l);
// Sentences a customer puts before a question ("I just bought {p}. ", "我刚买了{p}，").
const std::vector<std::string_view>& question_contexts(Lang l);

// Everyday remarks a customer makes before an on-topic question ("I'm just back from a
// trip to Paris. "): they share words with the off-topic requests, so a model trained on
// them learns that the question, not a stray word, decides whether to refuse.
const std::vector<std::string_view>& everyday_remarks(Lang l);

// Requests outside the assistant's scope and the polite refusal they get.
const std::vector<std::string_view>& off_topic_requests(Lang l);
// Off-topic requests built from a frame ("Can you explain {s}?") and a subject ("black
// holes"): the frames are the kind on-topic questions use, so the subject decides.
const std::vector<std::string_view>& off_topic_frames(Lang l);
const std::vector<std::string_view>& off_topic_subjects(Lang l);
const std::vector<std::string_view>& off_topic_heldout(Lang l);
std::string_view refusal(Lang l);
std::string_view refusal_fact(Lang l);
// Greeting and closing turns of multi-turn chats.
const std::vector<std::string_view>& greetings(Lang l);
std::string_view greeting_reply(Lang l);
const std::vector<std::string_view>& thanks(Lang l);
std::string_view thanks_reply(Lang l);

// Company prose for pretraining: an introduction paragraph and section headings.
std::string_view company_intro(Lang l);
const std::vector<std::string_view>& manual_headings(Lang l);

// The assistant's system prompt, shared by every task of the demo's chat mixture.
std::string_view system_prompt();

}  // namespace chatforge::demo
