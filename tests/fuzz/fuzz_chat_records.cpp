// Fuzz target: the supervised chat readers of `data chat` (read_chat_file): OpenAI
// messages JSONL, ShareGPT, Alpaca, prompt/completion, a .json array, CSV and TSV.
// Input: one byte choosing the file name and --format, then the file. Every conversation
// a reader accepts is rendered with the chat template as `data chat` does.
#include "chat_checks.h"
#include "data/chat_record.h"
#include "fuzz_util.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chatforge;
  std::string_view in = fuzz::as_view(data, size);
  static const char* const kNames[] = {"chat.jsonl", "chat.json", "chat.csv", "chat.tsv"};
  static const char* const kFormats[] = {"auto", "messages", "sharegpt", "alpaca", "prompt-completion", "csv", "tsv"};
  const unsigned choice = fuzz::take_choice(in, 4 * 7 * 2);
  const std::string path = fuzz::write_scratch(kNames[choice % 4], in);
  const auto format = data::parse_chat_format(kFormats[choice / 4 % 7]);
  const bool strict = choice / 28 != 0;
  fuzz::expect_clean([&] {
    data::read_chat_file(
        path, format, strict,
        [&](data::Conversation&& c) {
          const tok::RenderedChat r = fuzz::chat_format().render(c.messages);
          if (r.ids.size() != r.mask.size() || r.ids.size() != r.message.size())
            fuzz::finding("rendered ids, mask and message index differ in length");
          if (fuzz::chat_tokenizer().decode(r.ids) != tok::ChatFormat::render_text(c.messages))
            fuzz::finding("rendered tokens differ from the template's text");
        },
        [&](data::ChatIssue&& issue) {
          if (issue.reason.empty()) fuzz::finding("a skipped record without a reason");
        });
  });
  return 0;
}
