// Porter stemmer, step for step as NLTK's porter.py (see porter_stemmer.h). The rule
// tables and the order of tests follow NLTK exactly, because its choices (first matching
// suffix wins even when its condition fails; NLTK-only rules) decide the output.
#include "eval/porter_stemmer.h"

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace chatforge::eval {
namespace {

using Condition = std::function<bool(const std::string& stem)>;

struct Rule {
  std::string suffix;  // "*d": ends in a double consonant
  std::string replacement;
  Condition condition;  // empty: unconditional
};

bool word_ends_with(const std::string& w, std::string_view suffix) {
  return w.size() >= suffix.size() && w.compare(w.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string drop_suffix(const std::string& w, size_t n) { return w.substr(0, w.size() - n); }

class Porter {
 public:
  explicit Porter(PorterMode mode) : mode_(mode) {}

  std::string stem(std::string_view input) const {
    std::string word(input);
    for (char& c : word) c = (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c;
    if (nltk()) {
      // NLTK's table of irregular forms.
      static const std::pair<const char*, const char*> kIrregular[] = {
          {"sky", "sky"},         {"skies", "sky"},      {"dying", "die"},      {"lying", "lie"},
          {"tying", "tie"},       {"news", "news"},      {"innings", "inning"}, {"inning", "inning"},
          {"outings", "outing"},  {"outing", "outing"},  {"cannings", "canning"}, {"canning", "canning"},
          {"howe", "howe"},       {"proceed", "proceed"}, {"exceed", "exceed"}, {"succeed", "succeed"}};
      for (const auto& [form, base] : kIrregular) {
        if (word == form) return base;
      }
      if (word.size() <= 2) return word;
    }
    word = step1a(word);
    word = step1b(word);
    word = step1c(word);
    word = step2(word);
    word = step3(word);
    word = step4(word);
    word = step5a(word);
    word = step5b(word);
    return word;
  }

 private:
  bool nltk() const { return mode_ == PorterMode::kNltkExtensions; }

  static bool is_vowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }

  // A consonant is a letter other than a e i o u, and other than y preceded by a consonant.
  static bool is_consonant(const std::string& w, size_t i) {
    if (is_vowel(w[i])) return false;
    if (w[i] == 'y') return i == 0 ? true : !is_consonant(w, i - 1);
    return true;
  }

  // m in [C](VC){m}[V]: the number of "vc" pairs in the consonant/vowel pattern.
  static int measure(const std::string& s) {
    int m = 0;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      if (!is_consonant(s, i) && is_consonant(s, i + 1)) ++m;
    }
    return m;
  }

  static bool contains_vowel(const std::string& s) {
    for (size_t i = 0; i < s.size(); ++i) {
      if (!is_consonant(s, i)) return true;
    }
    return false;
  }

  static bool ends_double_consonant(const std::string& w) {
    return w.size() >= 2 && w[w.size() - 1] == w[w.size() - 2] && is_consonant(w, w.size() - 1);
  }

  // *o: ends consonant-vowel-consonant, the last not w, x or y (NLTK also: a 2-letter vc).
  bool ends_cvc(const std::string& w) const {
    const size_t n = w.size();
    if (n >= 3 && is_consonant(w, n - 3) && !is_consonant(w, n - 2) && is_consonant(w, n - 1) && w[n - 1] != 'w' &&
        w[n - 1] != 'x' && w[n - 1] != 'y')
      return true;
    return nltk() && n == 2 && !is_consonant(w, 0) && is_consonant(w, 1);
  }

  // The first rule whose suffix matches decides: its replacement if the condition holds
  // for the stem, else the word unchanged.
  static std::string apply_rules(const std::string& word, const std::vector<Rule>& rules) {
    for (const Rule& r : rules) {
      if (r.suffix == "*d" && ends_double_consonant(word)) {
        const std::string stem = drop_suffix(word, 2);
        return (!r.condition || r.condition(stem)) ? stem + r.replacement : word;
      }
      if (r.suffix != "*d" && word_ends_with(word, r.suffix)) {
        const std::string stem = drop_suffix(word, r.suffix.size());
        return (!r.condition || r.condition(stem)) ? stem + r.replacement : word;
      }
    }
    return word;
  }

  static bool positive_measure(const std::string& s) { return measure(s) > 0; }

  std::string step1a(const std::string& word) const {
    if (nltk() && word_ends_with(word, "ies") && word.size() == 4) return drop_suffix(word, 3) + "ie";
    return apply_rules(word, {{"sses", "ss", {}}, {"ies", "i", {}}, {"ss", "ss", {}}, {"s", "", {}}});
  }

  std::string step1b(const std::string& word) const {
    if (nltk() && word_ends_with(word, "ied")) return drop_suffix(word, 3) + (word.size() == 4 ? "ie" : "i");
    if (word_ends_with(word, "eed")) {
      const std::string stem = drop_suffix(word, 3);
      return measure(stem) > 0 ? stem + "ee" : word;
    }
    std::string inter;
    bool succeeded = false;
    for (std::string_view suffix : {std::string_view("ed"), std::string_view("ing")}) {
      if (word_ends_with(word, suffix)) {
        inter = drop_suffix(word, suffix.size());
        if (contains_vowel(inter)) {
          succeeded = true;
          break;
        }
      }
    }
    if (!succeeded) return word;
    const char last = inter.back();
    return apply_rules(inter, {{"at", "ate", {}},
                               {"bl", "ble", {}},
                               {"iz", "ize", {}},
                               {"*d", std::string(1, last),
                                [last](const std::string&) { return last != 'l' && last != 's' && last != 'z'; }},
                               {"", "e", [this](const std::string& s) { return measure(s) == 1 && ends_cvc(s); }}});
  }

  std::string step1c(const std::string& word) const {
    Condition cond;
    if (nltk()) {
      // y -> i only after a consonant, and not when the stem is that single consonant.
      cond = [](const std::string& s) { return s.size() > 1 && is_consonant(s, s.size() - 1); };
    } else {
      cond = [](const std::string& s) { return contains_vowel(s); };
    }
    return apply_rules(word, {{"y", "i", cond}});
  }

  std::string step2(const std::string& word) const {
    if (nltk() && word_ends_with(word, "alli") && positive_measure(drop_suffix(word, 4))) {
      return step2(drop_suffix(word, 4) + "al");
    }
    const Condition pm = positive_measure;
    std::vector<Rule> rules = {
        {"ational", "ate", pm}, {"tional", "tion", pm}, {"enci", "ence", pm}, {"anci", "ance", pm},
        {"izer", "ize", pm},
        nltk() ? Rule{"bli", "ble", pm} : Rule{"abli", "able", pm},
        {"alli", "al", pm},     {"entli", "ent", pm},   {"eli", "e", pm},       {"ousli", "ous", pm},
        {"ization", "ize", pm}, {"ation", "ate", pm},   {"ator", "ate", pm},    {"alism", "al", pm},
        {"iveness", "ive", pm}, {"fulness", "ful", pm}, {"ousness", "ous", pm}, {"aliti", "al", pm},
        {"iviti", "ive", pm},   {"biliti", "ble", pm}};
    if (nltk()) {
      rules.push_back({"fulli", "ful", pm});
      // NLTK tests the measure of the word minus its last three letters ("ogi").
      rules.push_back({"logi", "log", [word](const std::string&) { return positive_measure(drop_suffix(word, 3)); }});
    }
    return apply_rules(word, rules);
  }

  std::string step3(const std::string& word) const {
    const Condition pm = positive_measure;
    return apply_rules(word, {{"icate", "ic", pm}, {"ative", "", pm}, {"alize", "al", pm}, {"iciti", "ic", pm},
                              {"ical", "ic", pm}, {"ful", "", pm}, {"ness", "", pm}});
  }

  std::string step4(const std::string& word) const {
    const Condition m1 = [](const std::string& s) { return measure(s) > 1; };
    return apply_rules(word, {{"al", "", m1},
                              {"ance", "", m1},
                              {"ence", "", m1},
                              {"er", "", m1},
                              {"ic", "", m1},
                              {"able", "", m1},
                              {"ible", "", m1},
                              {"ant", "", m1},
                              {"ement", "", m1},
                              {"ment", "", m1},
                              {"ent", "", m1},
                              {"ion", "",
                               [](const std::string& s) {
                                 return measure(s) > 1 && !s.empty() && (s.back() == 's' || s.back() == 't');
                               }},
                              {"ou", "", m1},
                              {"ism", "", m1},
                              {"ate", "", m1},
                              {"iti", "", m1},
                              {"ous", "", m1},
                              {"ive", "", m1},
                              {"ize", "", m1}});
  }

  std::string step5a(const std::string& word) const {
    if (word_ends_with(word, "e")) {
      const std::string stem = drop_suffix(word, 1);
      const int m = measure(stem);
      if (m > 1) return stem;
      if (m == 1 && !ends_cvc(stem)) return stem;
    }
    return word;
  }

  std::string step5b(const std::string& word) const {
    return apply_rules(word, {{"ll", "l", [word](const std::string&) { return measure(drop_suffix(word, 1)) > 1; }}});
  }

  PorterMode mode_;
};

}  // namespace

std::string porter_stem(std::string_view word, PorterMode mode) { return Porter(mode).stem(word); }

}  // namespace chatforge::eval
