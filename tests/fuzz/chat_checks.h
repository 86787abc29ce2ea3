// A small byte-level tokenizer with the chat template's special tokens, built in memory,
// for the fuzz targets that render conversations (chat readers, the OpenAI request
// parser): 256 byte tokens, a few merges, <|endoftext|>, <|im_start|>, <|im_end|>.
#pragma once
#include <string>

#include "tokenizer/chat_format.h"
#include "tokenizer/tokenizer.h"

namespace chatforge::fuzz {

inline const tok::Tokenizer& chat_tokenizer() {
  static const tok::Tokenizer t = [] {
    tok::TokenizerParts p;
    for (int b = 0; b < 256; ++b) p.tokens.emplace_back(1, static_cast<char>(b));
    auto id = [&](const std::string& s) {
      for (size_t i = 0; i < p.tokens.size(); ++i)
        if (p.tokens[i] == s) return static_cast<int32_t>(i);
      return int32_t{-1};
    };
    for (const char* pair : {"th", "he", " t", "in", "an", "er"}) {
      const std::string a(1, pair[0]), b(1, pair[1]);
      p.tokens.push_back(a + b);
      p.merges.push_back({id(a), id(b), static_cast<int32_t>(p.tokens.size() - 1)});
    }
    for (const char* s : {tok::kEndOfText, tok::kImStart, tok::kImEnd}) {
      p.tokens.emplace_back(s);
      p.special_ids.push_back(static_cast<int32_t>(p.tokens.size() - 1));
    }
    return tok::Tokenizer::from_parts(std::move(p));
  }();
  return t;
}

inline const tok::ChatFormat& chat_format() {
  static const tok::ChatFormat f(chat_tokenizer());
  return f;
}

}  // namespace chatforge::fuzz
