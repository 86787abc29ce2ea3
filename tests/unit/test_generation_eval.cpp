// The model evaluations as library calls: the model + tokenizer loader's checks, batched
// answer generation against one-at-a-time and against a plain greedy loop over the
// model's logits, perplexity against exp(mean NLL) from the logits, and generation-eval
// metrics, groups and outputs on items whose expected scores are known.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>

#include "core/file_io.h"
#include "eval/answer_generation.h"
#include "eval/choice_eval.h"
#include "eval/generation_eval.h"
#include "eval/model_scoring.h"
#include "eval/perplexity_eval.h"
#include "fixtures.h"
#include "interop/loaded_model.h"
#include "model/checkpoint.h"
#include "test_util.h"
#include "tokenizer/chat_format.h"
#include "tokenizer/trainer.h"

namespace chatforge::eval {
using chatforge::testing::nll_next;

namespace {

using chatforge::testing::write_text;

using nlohmann::json;
using testing::error_of;

constexpr int kModelVocab = 320, kContext = 64;

tok::Tokenizer tiny_tokenizer() {
  tok::TrainOptions o;
  o.vocab_size = 300;
  o.special_tokens = {"<|im_start|>", "<|im_end|>"};
  return tok::train_bpe_on_text(
      "Mika keeps the red ball and the tall tree. Lora keeps a quiet river. He keeps the warm bread. "
      "She keeps a bright star. The old boat and a green hat.",
      o);
}

// A tiny model (sharpened, so greedy choices have clear margins) with the tokenizer above.
interop::LoadedModel tiny_loaded(int context = kContext) {
  interop::LoadedModel lm;
  lm.tokenizer = std::make_unique<tok::Tokenizer>(tiny_tokenizer());
  lm.model = testing::tiny_model({.channels = 32, .vocab = kModelVocab, .context = context}, 3, 3.0f);
  for (const char* sp : {tok::kEndOfText, "<|im_end|>"})
    if (auto id = lm.tokenizer->special_token_id(sp)) lm.stop_ids.push_back(*id);
  lm.chat = tok::load_chat_format(*lm.tokenizer, {});  // ChatML
  return lm;
}

// Greedy decoding with a full forward pass per token (no KV cache, no engine): argmax over
// the ids below `vocab`, stopping after a stop id (included) or max_new tokens.
std::vector<int32_t> greedy_reference(model::Gpt& m, std::vector<int32_t> seq, int vocab,
                                      const std::vector<int32_t>& stops, int max_new) {
  std::vector<int32_t> out;
  for (int k = 0; k < max_new; ++k) {
    const int T = static_cast<int>(seq.size());
    m.forward(seq.data(), 1, T);
    const float* l = m.activations().logits + static_cast<size_t>(T - 1) * m.config().padded_vocab_size();
    int32_t best = 0;
    for (int32_t v = 1; v < vocab; ++v)
      if (l[v] > l[best]) best = v;
    out.push_back(best);
    if (std::find(stops.begin(), stops.end(), best) != stops.end()) break;
    seq.push_back(best);
  }
  return out;
}

// ---------------------------------------------------------------- loader

interop::LoadedModel load(const std::string& model_dir, const std::string& tokenizer = "") {
  interop::LoadOptions o;
  o.model_dir = model_dir;
  o.tokenizer = tokenizer;
  return interop::load_model_and_tokenizer(o);
}

struct SavedCheckpoint {
  std::string root, model_dir;
  SavedCheckpoint(const std::string& name, int model_vocab, bool with_tokenizer)
      : root(testing::temp_dir("generation_eval_" + name)), model_dir(root + "/model") {
    model::save_model(model_dir, *testing::tiny_model({.vocab = model_vocab, .context = 16}, 1));
    if (with_tokenizer) tiny_tokenizer().save(model_dir);
  }
};

TEST(LoadedModel, LoadsTheCheckpointWithItsTokenizer) {
  SavedCheckpoint c("loads", kModelVocab, true);
  interop::LoadOptions o;
  o.model_dir = c.model_dir;
  o.weights = ops::WeightFormat::kBF16;
  const interop::LoadedModel lm = interop::load_model_and_tokenizer(o);
  const tok::Tokenizer t = tiny_tokenizer();
  EXPECT_EQ(lm.model->config().vocab_size, kModelVocab);
  EXPECT_EQ(lm.tokenizer->vocab_size(), t.vocab_size());
  EXPECT_EQ(lm.tokenizer->fingerprint(), t.fingerprint());
  const std::vector<int32_t> stops = {*t.special_token_id(tok::kEndOfText), *t.special_token_id("<|im_end|>")};
  EXPECT_EQ(lm.stop_ids, stops);
  EXPECT_EQ(lm.weights, ops::WeightFormat::kBF16);
  EXPECT_TRUE(interop::has_chat_tokens(*lm.tokenizer));
}

// Llama 3 instruct folders end a turn with <|eot_id|>, listed with <|end_of_text|> in
// generation_config.json's eos_token_id; config.json has its own. All of them stop.
TEST(LoadedModel, StopIdsIncludeTheFoldersEndOfSequenceIds) {
  SavedCheckpoint c("eos", kModelVocab, true);
  const tok::Tokenizer t = tiny_tokenizer();
  auto cfg = model::load_config(c.model_dir);
  cfg.eos_token_ids = {7, *t.special_token_id(tok::kEndOfText)};  // a repeat is kept once
  write_file_atomic(c.model_dir + "/generation_config.json", R"({"eos_token_id": [9, 7, 11], "do_sample": true})");
  const std::vector<int32_t> want = {*t.special_token_id(tok::kEndOfText), *t.special_token_id("<|im_end|>"), 7, 9, 11};
  EXPECT_EQ(interop::stop_ids_of(c.model_dir, cfg, t), want);
  write_file_atomic(c.model_dir + "/generation_config.json", R"({"eos_token_id": 5})");
  EXPECT_EQ(interop::stop_ids_of(c.model_dir, cfg, t).back(), 5);
  write_file_atomic(c.model_dir + "/generation_config.json", R"({"eos_token_id": [1, "x"]})");
  EXPECT_NE(error_of([&] { interop::stop_ids_of(c.model_dir, cfg, t); }).find("generation_config.json: field 'eos_token_id'"),
            std::string::npos);
  write_file_atomic(c.model_dir + "/generation_config.json", R"({"eos_token_id": 100000})");
  EXPECT_NE(error_of([&] { interop::stop_ids_of(c.model_dir, cfg, t); }).find("outside the vocabulary"),
            std::string::npos);
}

TEST(LoadedModel, ErrorsNameWhatIsMissingOrTooLarge) {
  SavedCheckpoint bare("bare", kModelVocab, false);
  EXPECT_EQ(error_of([&] { load(bare.root + "/nope"); }),
            "model directory " + bare.root + "/nope does not exist");
  EXPECT_EQ(error_of([&] { load(bare.model_dir); }),
            bare.model_dir + " has no tokenizer.json: pass --tokenizer DIR");
  EXPECT_NE(error_of([&] { load(bare.model_dir, bare.root + "/no_tokenizer"); }), "");
  // A tokenizer with more tokens than the model's embedding table cannot be used with it.
  const int small = 260;
  SavedCheckpoint narrow("narrow", small, true);
  const int n = tiny_tokenizer().vocab_size();
  ASSERT_GT(n, small);
  EXPECT_EQ(error_of([&] { load(narrow.model_dir); }),
            fmt::format("tokenizer {} has {} tokens but the model's vocabulary is {}", narrow.model_dir, n, small));
  // A separate tokenizer directory is used instead of the model's.
  const std::string tok_dir = bare.root + "/tok";
  tiny_tokenizer().save(tok_dir);
  EXPECT_EQ(load(bare.model_dir, tok_dir).tokenizer->vocab_size(), n);
}

// ---------------------------------------------------------------- answers

TEST(AnswerGeneration, BatchedAnswersEqualOneAtATimeAndAPlainGreedyLoop) {
  interop::LoadedModel lm = tiny_loaded();
  const auto& t = *lm.tokenizer;
  std::vector<std::vector<int32_t>> prompts;
  for (const char* p : {"Mika keeps", "She keeps a", "The old boat and", "Lora", "He keeps the warm"})
    prompts.push_back(t.encode(p));
  prompts.push_back(encode_prompt(t, lm.chat.get(), PromptSpec{"Who keeps the ball?", {}, true}));  // chat template
  AnswerOptions o;
  o.sampling.temperature = 0;
  o.max_tokens = 12;
  o.batch = 1;
  const auto single = generate_answers(lm, o, prompts);
  o.batch = 4;  // two forward-pass batches: 4 + 2
  const auto batched = generate_answers(lm, o, prompts);
  ASSERT_EQ(single.size(), prompts.size());
  ASSERT_EQ(batched.size(), prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(batched[i].tokens, single[i].tokens) << i;
    EXPECT_EQ(batched[i].text, single[i].text) << i;
    const auto ref = greedy_reference(*lm.model, prompts[i], t.vocab_size(), lm.stop_ids, o.max_tokens);
    EXPECT_EQ(single[i].tokens, ref) << i;
    std::vector<int32_t> shown = ref;
    if (!shown.empty() && std::find(lm.stop_ids.begin(), lm.stop_ids.end(), shown.back()) != lm.stop_ids.end())
      shown.pop_back();
    EXPECT_EQ(single[i].text, t.decode(shown)) << i;
  }
  // A stop string cuts the text at its first occurrence, the ids stay as generated.
  ASSERT_GE(single[0].text.size(), 3u);
  o.stop = {single[0].text.substr(2, 1)};
  const auto cut = generate_answers(lm, o, {prompts[0]});
  EXPECT_EQ(cut[0].text, single[0].text.substr(0, single[0].text.find(o.stop[0])));
  EXPECT_EQ(error_of([&] { generate_answers(lm, o, {prompts[0], {}}); }), "prompt 2 encodes to no tokens");
}

TEST(AnswerGeneration, ChatPromptsUseTheTemplate) {
  const tok::Tokenizer t = tiny_tokenizer();
  const tok::ChatFormat cf(t);
  const std::vector<int32_t> chat = encode_prompt(t, &cf, {"hi", {}, true});
  EXPECT_EQ(chat, tok::ChatFormat(t).render({{"user", "hi"}}, true).ids);
  EXPECT_EQ(encode_prompt(t, &cf, {"hi", {{"system", "Be brief."}, {"user", "hi"}}, true}),
            tok::ChatFormat(t).render({{"system", "Be brief."}, {"user", "hi"}}, true).ids);
  EXPECT_EQ(encode_prompt(t, &cf, {"hi", {}, false}), t.encode("hi"));
  EXPECT_EQ(encode_prompt(t, nullptr, {"hi", {}, false}), t.encode("hi"));
  EXPECT_NE(error_of([&] { encode_prompt(t, nullptr, {"hi", {}, true}); }).find("a chat prompt needs a chat template"),
            std::string::npos);
}

// ---------------------------------------------------------------- perplexity

TEST(PerplexityEval, EqualsExpOfTheMeanNllFromTheLogits) {
  interop::LoadedModel lm = tiny_loaded();
  const std::string dir = testing::temp_dir("generation_eval_ppl");
  const std::string text = "Mika keeps the red ball. Lora keeps a quiet river.";
  write_text(dir + "/val.txt", text);
  PerplexityEvalOptions o;
  o.data = dir + "/val.txt";
  o.model_name = "tiny";
  const EvalOutput out = run_perplexity_eval(lm, o);
  // The stream is <|endoftext|> text <|endoftext|>; within one window every token sees
  // all tokens before it.
  const int32_t eot = *lm.tokenizer->special_token_id(tok::kEndOfText);
  std::vector<int32_t> seq = {eot};
  for (int32_t id : lm.tokenizer->encode(text)) seq.push_back(id);
  seq.push_back(eot);
  ASSERT_LE(seq.size(), static_cast<size_t>(kContext));
  double nats = 0;
  for (size_t j = 1; j < seq.size(); ++j) nats += nll_next(*lm.model, {seq.begin(), seq.begin() + j}, seq[j]);
  const double mean = nats / static_cast<double>(seq.size() - 1);
  const json& r = out.results;
  EXPECT_EQ(r["tokens_scored"], seq.size() - 1);
  EXPECT_EQ(r["bytes"], text.size());
  EXPECT_EQ(r["documents"], 1);
  EXPECT_EQ(r["input"], "text");
  EXPECT_EQ(r["window"], kContext);
  EXPECT_EQ(r["stride"], kContext / 2);
  EXPECT_NEAR(r["loss"].get<double>(), mean, 1e-4);
  EXPECT_NEAR(r["perplexity"].get<double>(), std::exp(mean), 1e-3 * std::exp(mean));
  EXPECT_NEAR(r["bits_per_byte"].get<double>(), nats / std::log(2.0) / text.size(), 1e-4);
  EXPECT_EQ(out.summary.rfind(fmt::format("loss {:.6f}  perplexity ", r["loss"].get<double>()), 0), 0u)
      << out.summary;

  // JSONL documents: each one followed by <|endoftext|>, bytes of the documents only.
  write_text(dir + "/val.jsonl", R"({"text": "Mika keeps"})" "\n" R"({"text": ""})" "\n" R"({"text": "a star."})" "\n");
  o.data = dir + "/val.jsonl";
  const Corpus c = load_corpus(o, lm);
  std::vector<int32_t> expect = {eot};
  for (const char* d : {"Mika keeps", "a star."}) {
    for (int32_t id : lm.tokenizer->encode(d)) expect.push_back(id);
    expect.push_back(eot);
  }
  EXPECT_EQ(c.tokens, expect);
  EXPECT_EQ(c.bytes, 17u);
  EXPECT_EQ(c.documents, 2u);
  EXPECT_EQ(c.kind, "jsonl");
  o.window = kContext + 1;
  EXPECT_EQ(error_of([&] { run_perplexity_eval(lm, o); }), "--window 65 exceeds the model's context of 64");
  o.window = 8;
  o.stride = 9;
  EXPECT_EQ(error_of([&] { run_perplexity_eval(lm, o); }), "--stride 9 exceeds the window of 8");
  write_text(dir + "/bad.jsonl", R"({"body": "x"})" "\n");
  o.data = dir + "/bad.jsonl";
  EXPECT_EQ(error_of([&] { load_corpus(o, lm); }),
            o.data + ":1: needs a string 'text' field (choose it with --text-field)");
}

// ---------------------------------------------------------------- generate

struct GenerationCase {
  interop::LoadedModel lm = tiny_loaded();
  std::string dir = testing::temp_dir("generation_eval_gen");
  std::vector<std::string> greedy;  // the model's greedy answers to the prompts below
  std::vector<std::string> prompts = {"Mika keeps", "She keeps a", "The old boat", "Lora keeps"};
  GenerationEvalOptions opt;
  GenerationCase() {
    opt.answers.sampling.temperature = 0;
    opt.answers.max_tokens = 8;
    opt.answers.batch = 3;
    opt.bootstrap.resamples = 50;
    opt.model_name = "tiny";
    // ASCII answers only (a random model also picks lone UTF-8 bytes), so they can be
    // written back as JSONL references.
    for (int32_t id = 0; id < lm.tokenizer->vocab_size(); ++id) {
      const std::string piece = lm.tokenizer->decode({id});
      if (std::any_of(piece.begin(), piece.end(), [](char ch) { return static_cast<unsigned char>(ch) >= 0x80; }))
        opt.answers.sampling.logit_bias[id] = -100.0f;
    }
    std::vector<std::vector<int32_t>> ids;
    for (const auto& p : prompts) ids.push_back(lm.tokenizer->encode(p));
    for (const auto& a : generate_answers(lm, opt.answers, ids)) greedy.push_back(a.text);
  }
};

// Items 0 and 1 (group "right") have the model's own answer as reference, items 2 and 3
// (group "wrong") a reference it cannot produce: exact match is 100 / 0 per group, 50 overall.
TEST(GenerationEval, MetricsAndGroupsOnKnownAnswers) {
  GenerationCase g;
  for (const auto& s : g.greedy) ASSERT_FALSE(normalize_answer(s).empty()) << "answer '" << s << "'";
  std::string jsonl;
  for (size_t i = 0; i < g.prompts.size(); ++i) {
    const bool right = i < 2;
    jsonl += json{{"id", std::string("q") + std::to_string(i)},
                  {"prompt", g.prompts[i]},
                  {"reference", right ? g.greedy[i] : "zebra xylophone"},
                  {"group", right ? "right" : "wrong"}}
                 .dump() +
             "\n";
  }
  write_text(g.dir + "/gen.jsonl", jsonl);
  g.opt.data = g.dir + "/gen.jsonl";
  g.opt.group_field = "group";
  const EvalOutput out = run_generation_eval(g.lm, g.opt);
  const json& r = out.results;
  EXPECT_DOUBLE_EQ(r["metrics"]["exact_match"]["value"].get<double>(), 50.0);
  EXPECT_DOUBLE_EQ(r["metrics"]["f1"]["value"].get<double>(), 50.0);
  EXPECT_EQ(r["items"], 4);
  EXPECT_EQ(r["generation"]["batch"], 3);
  for (size_t i = 0; i < g.prompts.size(); ++i) {
    EXPECT_EQ(r["outputs"][i]["output"], g.greedy[i]);  // batch 3 answers = batch 1 answers
    EXPECT_EQ(r["outputs"][i]["group"], i < 2 ? "right" : "wrong");
  }
  const json& em = r["per_group"]["exact_match"];
  EXPECT_DOUBLE_EQ(em["groups"]["right"]["value"].get<double>(), 100.0);
  EXPECT_EQ(em["groups"]["right"]["n"], 2);
  EXPECT_DOUBLE_EQ(em["groups"]["wrong"]["value"].get<double>(), 0.0);
  EXPECT_EQ(em["largest_gap"]["high"], "right");
  EXPECT_DOUBLE_EQ(em["largest_gap"]["gap"].get<double>(), 100.0);
  EXPECT_EQ(out.summary.rfind(r["bleu_line"].get<std::string>() + "\n", 0), 0u);
  EXPECT_NE(out.summary.find("exact_match"), std::string::npos);
  EXPECT_NE(out.summary.find("largest gap right - wrong = 100.00"), std::string::npos) << out.summary;
  EXPECT_NE(out.report.html().find("Per group"), std::string::npos);
}

TEST(GenerationEval, GroupChecksAndCounterfactualProbes) {
  GenerationCase g;
  std::string jsonl;
  for (size_t i = 0; i < g.prompts.size(); ++i)
    jsonl += json{{"prompt", g.prompts[i]}, {"reference", "x"}, {"group", i % 2 ? "a" : "b"}}.dump() + "\n";
  write_text(g.dir + "/gen.jsonl", jsonl);
  g.opt.data = g.dir + "/gen.jsonl";
  g.opt.expect_groups = {"a"};
  EXPECT_EQ(error_of([&] { run_generation_eval(g.lm, g.opt); }), "--expect-groups needs --group-field");
  g.opt.group_field = "group";
  g.opt.expect_groups = {"a", "c"};
  EXPECT_EQ(error_of([&] { run_generation_eval(g.lm, g.opt); }).rfind(g.opt.data + ": ", 0), 0u);
  g.opt.expect_groups.clear();
  // he/she swaps: "She keeps a" is the only prompt holding a term.
  write_text(g.dir + "/pairs.tsv", "he\tshe\n");
  g.opt.counterfactual = g.dir + "/pairs.tsv";
  const EvalOutput out = run_generation_eval(g.lm, g.opt);
  const json& cf = out.results["counterfactual"];
  EXPECT_EQ(cf["probes"], 1);
  EXPECT_EQ(out.results["outputs"][1]["counterfactual"]["swapped_prompt"], "He keeps a");
  EXPECT_FALSE(out.results["outputs"][0].contains("counterfactual"));
  // The swapped answer is the greedy answer to the swapped prompt.
  AnswerOptions ao = g.opt.answers;
  const auto swapped = generate_answers(g.lm, ao, {g.lm.tokenizer->encode("He keeps a")});
  EXPECT_EQ(out.results["outputs"][1]["counterfactual"]["swapped_output"], swapped[0].text);
  EXPECT_NE(out.summary.find("counterfactual he/she"), std::string::npos) << out.summary;
}

// ---------------------------------------------------------------- choice

TEST(ChoiceEval, PicksTheOptionWithTheHighestLogLikelihoodPerToken) {
  interop::LoadedModel lm = tiny_loaded();
  const std::string dir = testing::temp_dir("generation_eval_choice");
  const std::vector<std::string> choices = {" the red ball.", " a quiet river and a star.", " the old boat."};
  const auto prompt = lm.tokenizer->encode("Mika keeps");
  size_t best = 0;
  double top = -INFINITY;
  for (size_t c = 0; c < choices.size(); ++c) {
    const auto cont = lm.tokenizer->encode(choices[c]);
    const double per_token = -continuation_nll(*lm.model, prompt, cont) / static_cast<double>(cont.size());
    if (per_token > top) top = per_token, best = c;
  }
  // Item 1's answer is the model's pick, item 2's another option: accuracy 50%.
  write_text(dir + "/choice.jsonl", json{{"prompt", "Mika keeps"}, {"choices", choices}, {"answer", best}}.dump() + "\n" +
                                   json{{"prompt", "Mika keeps"}, {"choices", choices}, {"answer", (best + 1) % 3}}
                                       .dump() +
                                   "\n");
  ChoiceEvalOptions o;
  o.data = dir + "/choice.jsonl";
  o.model_name = "tiny";
  o.bootstrap.resamples = 20;
  const EvalOutput out = run_choice_eval(lm, o);
  EXPECT_EQ(out.results["outputs"][0]["predicted"], best);
  EXPECT_EQ(out.results["outputs"][1]["predicted"], best);
  EXPECT_DOUBLE_EQ(out.results["metrics"]["accuracy"]["value"].get<double>(), 50.0);
  EXPECT_EQ(out.summary.rfind("accuracy ", 0), 0u) << out.summary;
}

}  // namespace
}  // namespace chatforge::eval
