// Implementation of pii.h. Candidates are found around '@' (e-mail), ':' and '.' (IP) and
// digit runs (phone, ID, card); each is validated before it is replaced, so ordinary
// numbers (years, prices, versions) survive.
#include "data/pii.h"

#include <algorithm>
#include <cctype>
#include <vector>

#include "core/error.h"

namespace chatforge::data {

const char* pii_type_name(int type) {
  static const char* kNames[] = {"email", "phone", "id", "card", "ip"};
  return kNames[type];
}

void parse_pii_types(const std::string& list, PiiOptions& o) {
  const bool all = list == "all", none = list == "none";
  for (bool& e : o.enabled) e = all;
  if (all || none) return;
  size_t start = 0;
  while (start <= list.size()) {
    size_t end = list.find(',', start);
    if (end == std::string::npos) end = list.size();
    const std::string t = list.substr(start, end - start);
    bool found = false;
    for (int k = 0; k < kPiiTypeCount; ++k)
      if (t == pii_type_name(k)) o.enabled[k] = found = true;
    if (!found) usage_fail("unknown PII type '{}' (use email, phone, id, card, ip, all or none)", t);
    start = end + 1;
  }
}

bool luhn_valid(std::string_view digits) {
  int sum = 0;
  bool dbl = false;
  for (size_t i = digits.size(); i-- > 0;) {
    int d = digits[i] - '0';
    if (dbl) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    dbl = !dbl;
  }
  return sum % 10 == 0;
}

bool cn_id_valid(std::string_view id) {
  if (id.size() != 18) return false;
  static const int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  static const char kCheck[] = "10X98765432";
  int sum = 0;
  for (int i = 0; i < 17; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(id[i]))) return false;
    sum += (id[i] - '0') * kWeights[i];
  }
  const char c = static_cast<char>(std::toupper(static_cast<unsigned char>(id[17])));
  return c == kCheck[sum % 11];
}

namespace {

struct Span {
  size_t begin, end;
  int type;
};

inline bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }
inline bool is_digit(char c) { return c >= '0' && c <= '9'; }
inline bool is_hex(char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }
inline bool email_local_char(char c) {
  return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' || c == '-';
}
inline bool domain_char(char c) { return is_alnum(c) || c == '-' || c == '.'; }

void find_emails(std::string_view s, std::vector<Span>& out) {
  for (size_t at = s.find('@'); at != std::string_view::npos; at = s.find('@', at + 1)) {
    size_t b = at;
    while (b > 0 && email_local_char(s[b - 1])) --b;
    while (b < at && s[b] == '.') ++b;
    if (b == at) continue;
    size_t e = at + 1;
    while (e < s.size() && domain_char(s[e])) ++e;
    while (e > at + 1 && (s[e - 1] == '.' || s[e - 1] == '-')) --e;
    const std::string_view domain = s.substr(at + 1, e - at - 1);
    const size_t dot = domain.rfind('.');
    if (dot == std::string_view::npos || dot == 0) continue;
    const std::string_view tld = domain.substr(dot + 1);
    if (tld.size() < 2 || !std::all_of(tld.begin(), tld.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); }))
      continue;
    out.push_back({b, e, kPiiEmail});
  }
}

// IPv4: four dot-separated numbers 0-255 not inside a longer number or word.
void find_ipv4(std::string_view s, std::vector<Span>& out) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (!is_digit(s[i]) || (i > 0 && (is_alnum(s[i - 1]) || s[i - 1] == '.'))) continue;
    size_t p = i;
    int parts = 0;
    bool ok = true;
    while (parts < 4) {
      size_t q = p;
      int v = 0;
      while (q < s.size() && is_digit(s[q]) && q - p < 4) v = v * 10 + (s[q++] - '0');
      if (q == p || q - p > 3 || v > 255) {
        ok = false;
        break;
      }
      ++parts;
      p = q;
      if (parts < 4) {
        if (p < s.size() && s[p] == '.') {
          ++p;
        } else {
          ok = false;
          break;
        }
      }
    }
    if (!ok || (p < s.size() && (is_alnum(s[p]) || (s[p] == '.' && p + 1 < s.size() && is_digit(s[p + 1]))))) continue;
    out.push_back({i, p, kPiiIp});
    i = p;
  }
}

// IPv6: at least three ':'-separated hex groups with '::' or eight groups.
void find_ipv6(std::string_view s, std::vector<Span>& out) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (!(is_hex(s[i]) || s[i] == ':') || (i > 0 && (is_alnum(s[i - 1]) || s[i - 1] == ':'))) continue;
    size_t p = i;
    int groups = 0, colons = 0;
    bool dbl = false, bad = false;
    while (p < s.size()) {
      size_t q = p;
      while (q < s.size() && is_hex(s[q]) && q - p < 5) ++q;
      if (q - p > 4) {
        bad = true;
        break;
      }
      if (q > p) ++groups;
      p = q;
      if (p < s.size() && s[p] == ':') {
        ++colons;
        if (p + 1 < s.size() && s[p + 1] == ':') {
          if (dbl) break;
          dbl = true;
          ++colons;
          ++p;
        }
        ++p;
      } else {
        break;
      }
    }
    if (bad || (p < s.size() && is_alnum(s[p]))) continue;
    if (colons < 2 || groups < 2 || (!dbl && groups != 8) || groups > 8) continue;
    while (p > i && s[p - 1] == ':' && !(p >= 2 && s[p - 2] == ':')) --p;
    out.push_back({i, p, kPiiIp});
    i = p;
  }
}

// Digit runs joined by single separators (space, '-', '.', parentheses, leading '+'),
// classified by their digits and shape.
void find_numbers(std::string_view s, std::vector<Span>& out) {
  for (size_t i = 0; i < s.size(); ++i) {
    const bool plus = s[i] == '+' && i + 1 < s.size() && is_digit(s[i + 1]);
    const bool paren = s[i] == '(' && i + 1 < s.size() && is_digit(s[i + 1]);
    if (!(is_digit(s[i]) || plus || paren)) continue;
    if (i > 0 && (is_alnum(s[i - 1]) || s[i - 1] == '.' || s[i - 1] == '-' || s[i - 1] == '_' || s[i - 1] == '/'))
      continue;
    std::string digits;
    size_t p = i + (plus || paren ? 1 : 0);
    size_t end = p;
    int groups = 0, dots = 0, dashes = 0, spaces = 0;
    bool x_check = false;
    while (p < s.size()) {
      size_t q = p;
      while (q < s.size() && is_digit(s[q])) digits += s[q++];
      if (q == p) break;
      ++groups;
      end = q;
      if (digits.size() == 17 && q < s.size() && (s[q] == 'X' || s[q] == 'x')) {
        digits += 'X';
        end = q + 1;
        x_check = true;
        break;
      }
      // One separator, then more digits.
      size_t r = q;
      if (r < s.size() && s[r] == ')') ++r;
      if (r < s.size() && (s[r] == ' ' || s[r] == '-' || s[r] == '.')) {
        const char sep = s[r];
        ++r;
        if (r < s.size() && s[r] == '(') ++r;
        if (r < s.size() && is_digit(s[r])) {
          dots += sep == '.';
          dashes += sep == '-';
          spaces += sep == ' ';
          p = r;
          continue;
        }
      } else if (r > q && r < s.size() && is_digit(s[r])) {  // "(010)12345678"
        p = r;
        continue;
      }
      break;
    }
    if (end < s.size() && (is_alnum(s[end]) || (s[end] == '.' && end + 1 < s.size() && is_digit(s[end + 1])))) {
      i = end;
      continue;
    }
    const size_t nd = digits.size();
    int type = -1;
    if (nd == 18 && groups == 1 && cn_id_valid(digits)) {
      type = kPiiId;
    } else if (x_check) {
      type = -1;
    } else if (groups == 3 && dashes == 2 && nd == 9 && s[i] != '+' && end - i == 11) {
      type = kPiiId;  // US SSN ddd-dd-dddd
    } else if (nd >= 13 && nd <= 19 && dots == 0 && !plus && luhn_valid(digits) && (groups == 1 || groups >= 3)) {
      type = kPiiCard;
    } else if (dots == 1 && !plus) {
      type = -1;  // a decimal number
    } else if (nd >= 10 && nd <= 15 && (plus || groups >= 2 || paren || nd == 11 || nd == 10)) {
      type = kPiiPhone;
    } else if (plus && nd >= 7 && nd <= 15) {
      type = kPiiPhone;
    } else if (nd >= 7 && nd <= 9 && groups >= 2 && (dashes + spaces) >= 1 && paren) {
      type = kPiiPhone;  // (010) 1234-567 style local numbers with an area code
    }
    if (type >= 0) out.push_back({i, end, type});
    i = end;
  }
}

}  // namespace

std::string scrub_pii(std::string_view s, const PiiOptions& o, PiiCounts& counts) {
  std::vector<Span> spans;
  if (o.enabled[kPiiEmail] && s.find('@') != std::string_view::npos) find_emails(s, spans);
  if (o.enabled[kPiiIp]) {
    find_ipv4(s, spans);
    if (s.find(':') != std::string_view::npos) find_ipv6(s, spans);
  }
  if (o.enabled[kPiiPhone] || o.enabled[kPiiId] || o.enabled[kPiiCard]) {
    std::vector<Span> nums;
    find_numbers(s, nums);
    for (const auto& n : nums)
      if (o.enabled[n.type]) spans.push_back(n);
  }
  if (spans.empty()) return std::string(s);
  // Earlier and longer first; drop spans overlapping an accepted one (e-mails win over
  // the digits inside them because they start earlier or are longer).
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return a.begin != b.begin ? a.begin < b.begin : a.end > b.end;
  });
  std::string out;
  out.reserve(s.size());
  size_t pos = 0;
  for (const auto& sp : spans) {
    if (sp.begin < pos) continue;
    out.append(s.substr(pos, sp.begin - pos));
    std::string name = pii_type_name(sp.type);
    for (auto& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    std::string rep = o.replacement;
    const size_t k = rep.find("{type}");
    if (k != std::string::npos) rep.replace(k, 6, name);
    out += rep;
    ++counts.n[sp.type];
    pos = sp.end;
  }
  out.append(s.substr(pos));
  return out;
}

}  // namespace chatforge::data
