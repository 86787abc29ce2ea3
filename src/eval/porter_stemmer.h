// The Porter stemmer as NLTK's nltk.stem.porter.PorterStemmer implements it, in its two
// modes: NLTK_EXTENSIONS (NLTK's default, what Google's rouge-score uses for
// use_stemmer=True) and ORIGINAL_ALGORITHM (Porter 1980 as published).
// Works on lowercase ASCII words (ROUGE tokens are [a-z0-9]+); other bytes are consonants.
#pragma once
#include <string>
#include <string_view>

namespace chatforge::eval {

enum class PorterMode { kNltkExtensions, kOriginal };

// porter_stem("caresses") -> "caress", porter_stem("relational") -> "relat",
// porter_stem("dying") -> "die" (NLTK's irregular forms), porter_stem("happy") -> "happi"
std::string porter_stem(std::string_view word, PorterMode mode = PorterMode::kNltkExtensions);

}  // namespace chatforge::eval
