// What the tokenizer fuzz targets do with a tokenizer that loaded: what the commands do
// with one. Encoding then decoding a fixed text must give back its exact bytes (byte-level
// BPE is lossless), and tokenizer.json written by to_hf_json() must load again as the
// same tokenizer. A violation aborts: silently wrong output is a finding too.
#pragma once
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fuzz_util.h"
#include "tokenizer/tokenizer.h"

namespace chatforge::fuzz {

// NFC-stable text (so an NFC normalizer keeps it): ASCII words, digits, contractions,
// whitespace runs, Chinese, an emoji and a special-token spelling.
inline constexpr const char* kSampleText =
    "Hello world! It's 2024, we'll see.\n\n  indented\ttab  \r\n"
    "\xe4\xbd\xa0\xe5\xa5\xbd\xef\xbc\x8c\xe4\xb8\x96\xe7\x95\x8c \xf0\x9f\x99\x82 <|endoftext|> x=1+2;";

inline void check_tokenizer(const tok::Tokenizer& t) {
  const std::string text = kSampleText;
  for (bool allow_special : {false, true}) {
    const auto ids = t.encode(text, allow_special);
    for (int32_t id : ids)
      if (id < 0 || id >= t.vocab_size()) finding("encode produced an id outside the vocabulary");
    if (t.decode(ids) != text) finding("decode(encode(text)) != text");
  }
  tok::StreamDecoder sd(t);
  for (int32_t id : t.encode(text)) sd.push(id);
  sd.flush();
  // Written and read again: the same tokenizer.
  const std::string path = write_scratch("roundtrip/tokenizer.json", t.to_hf_json());
  const tok::Tokenizer again = tok::Tokenizer::load(path);
  if (again.fingerprint() != t.fingerprint()) finding("to_hf_json() does not load back as the same tokenizer");
  if (again.encode(text, true) != t.encode(text, true)) finding("reloaded tokenizer encodes differently");
  (void)t.vocab_listing();
  (void)t.to_hf_config_json();
}

}  // namespace chatforge::fuzz
