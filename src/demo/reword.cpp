// Implementation of reword.h: the thesaurus and a left-to-right longest-match rewrite.
#include "demo/reword.h"

#include <algorithm>
#include <cctype>
#include <string_view>
#include <vector>

namespace chatforge::demo {
namespace {

using Group = std::vector<std::string_view>;

// Groups of interchangeable words and phrases in customers' questions. Every member of a
// group may stand for every other in a question (grammar may suffer a little, as it does
// in real messages); no group crosses two of the knowledge base's topics, and words with
// several senses there ("get", "come" as in "does it come in red", "take", a bare "code",
// "dear" as in "Dear support") are left out.
const std::vector<Group>& thesaurus() {
  static const std::vector<Group> k = {
      // buying and money
      {"buy", "purchase", "pick up", "order"},
      {"cost", "price", "charge"},
      {"costs", "is priced at", "sells for", "goes for"},
      {"expensive", "pricey", "costly", "high-priced"},
      {"cheap", "affordable", "inexpensive", "low-priced"},
      {"pay", "pay for it", "settle the bill"},
      {"discount", "deal", "reduction", "price cut", "markdown"},
      {"money back", "refund", "reimbursement"},
      {"refunded", "reimbursed", "paid back"},
      // the product
      {"coffee maker", "coffee machine", "machine", "brewer", "appliance", "unit", "device"},
      {"big", "large", "huge", "roomy"},
      {"small", "little", "tiny", "compact"},
      {"water tank", "tank", "reservoir", "water container", "water compartment"},
      {"hold", "contain", "store"},
      {"colors", "colours", "color options", "colour options", "shades", "finishes"},
      {"color", "colour", "shade", "finish"},
      {"clean", "wash", "rinse", "wipe down"},
      {"descale", "decalcify", "remove the limescale from", "get the scale out of"},
      {"drinks", "beverages", "coffees", "kinds of coffee"},
      {"capsules", "pods", "cartridges", "coffee pods"},
      {"power", "electricity", "wattage", "energy"},
      // problems
      {"broken", "faulty", "defective", "not working", "dead"},
      {"fix", "repair", "sort out"},
      {"reset", "restart", "reboot", "power cycle"},
      {"error", "error code", "warning code", "fault code"},
      {"wifi", "wi-fi", "wireless", "wireless network", "home network"},
      {"app", "application", "phone app", "mobile app"},
      // orders and delivery
      {"package", "parcel", "shipment box"},
      {"arrive", "get here", "show up", "be delivered", "turn up"},
      {"delivery", "shipping", "shipment"},
      {"ship", "send", "deliver", "dispatch"},
      {"abroad", "overseas", "internationally", "to other countries"},
      {"cancel", "call off", "withdraw"},
      {"track", "follow", "check on", "trace"},
      {"return", "send back", "give back"},
      {"warranty", "guarantee", "coverage"},
      // the company and the account
      {"support", "customer service", "customer support", "help desk", "the support team"},
      {"contact", "reach", "get in touch with", "talk to"},
      {"password", "login", "sign-in details"},
      // the request itself
      {"tell me", "let me know", "explain"},
      {"want to", "would like to", "need to", "wish to"},
      {"know", "find out", "learn"},
      {"question", "query", "quick question"},
      {"help", "assist", "help out"},
      {"quickly", "fast", "soon"},
      {"how long", "how many days", "how much time"},
  };
  return k;
}

bool word_char(unsigned char c) { return std::isalnum(c) != 0 || c == '-' || c == '\'' || c >= 0x80; }

// The longest thesaurus phrase that starts at `at` in `lower` and ends at a word boundary.
// Returns its length (0: none) and sets `group`.
size_t match_at(const std::string& lower, size_t at, const Group** group) {
  size_t best = 0;
  for (const Group& g : thesaurus())
    for (std::string_view w : g) {
      if (w.size() <= best || lower.compare(at, w.size(), w) != 0) continue;
      const size_t end = at + w.size();
      if (end < lower.size() && word_char(static_cast<unsigned char>(lower[end]))) continue;
      best = w.size();
      *group = &g;
    }
  return best;
}

// Fillers: English and Chinese sentence-final ones go before the closing mark; Chinese
// adverbs ("现在", "一般") go in front of the question, where they read naturally.
const std::vector<std::string_view>& fillers(Lang l) {
  static const std::vector<std::string_view> en = {" these days", " right now", " at the moment", " exactly",
                                                    " usually", " normally", " in general", " at all", " by the way",
                                                    " for me", " please", " actually", " roughly", " then"};
  static const std::vector<std::string_view> zh = {"呢", "啊", "呀", "哈", "来着", "现在", "一般", "大概", "到底"};
  return l == Lang::kEn ? en : zh;
}
constexpr size_t kZhFirstAdverb = 5;  // fillers(kZh) from here on are adverbs

}  // namespace

std::string add_filler(Rng& rng, Lang l, const std::string& q) {
  const auto& all = fillers(l);
  const size_t pick = rng.below(all.size());
  if (l == Lang::kZh && pick >= kZhFirstAdverb) return std::string(all[pick]) + q;
  size_t at = q.size();
  for (std::string_view mark : {"?", ".", "!", "？", "。", "！"})
    if (q.ends_with(mark)) at = q.size() - mark.size();
  while (at > 0 && q[at - 1] == ' ') --at;
  return q.substr(0, at) + std::string(all[pick]) + q.substr(at);
}

std::string reword(Rng& rng, Lang l, const std::string& q, double p) {
  if (l != Lang::kEn || p <= 0) return q;
  std::string lower = q;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  std::string out;
  out.reserve(q.size() + 16);
  size_t i = 0;
  while (i < q.size()) {
    const bool word_start = i == 0 || !word_char(static_cast<unsigned char>(q[i - 1]));
    const Group* g = nullptr;
    const size_t len = word_start ? match_at(lower, i, &g) : 0;
    if (len == 0 || rng.uniform() >= p) {
      // copy the whole word (or the one non-word character) unchanged
      size_t j = i + 1;
      if (word_char(static_cast<unsigned char>(q[i])))
        while (j < q.size() && word_char(static_cast<unsigned char>(q[j]))) ++j;
      out.append(q, i, (len > 0 ? std::max(len, j - i) : j - i));
      i += len > 0 ? std::max(len, j - i) : j - i;
      continue;
    }
    std::string alt(g->at(rng.below(g->size())));
    if (std::isupper(static_cast<unsigned char>(q[i])) && !alt.empty())
      alt[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(alt[0])));
    out += alt;
    i += len;
  }
  return out;
}

}  // namespace chatforge::demo
