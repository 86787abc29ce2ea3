// Rewording of the demo's English training questions: words and short phrases swapped for
// others that mean the same in a customer's question ("buy" -> "purchase", "coffee maker"
// -> "machine", "refund" -> "money back"), from a small general thesaurus of
// customer-service English. A model fine-tuned on the reworded questions sees each topic
// in many more words than the phrasings spell out, so it keys on meaning-bearing words
// rather than on whole memorised sentences. Only training questions are reworded; the
// held-out sets are never touched. Chinese questions are returned unchanged.
#pragma once
#include <string>

#include "core/rng.h"
#include "demo/knowledge_base.h"

namespace chatforge::demo {

// Each thesaurus phrase found in `q` (whole words, case-insensitive, longest first, left
// to right) is replaced with probability `p` by another phrase of its group, chosen
// uniformly; a replaced phrase that started with a capital letter keeps it.
std::string reword(Rng& rng, Lang l, const std::string& q, double p);

// `q` with one filler people add to a question without changing what it asks ("these
// days", "right now", "normally"; in Chinese a particle or "现在"/"一般"), placed before
// the final question mark or full stop (at the end where there is none).
std::string add_filler(Rng& rng, Lang l, const std::string& q);

}  // namespace chatforge::demo
