// Personal-data scrubbing: e-mail addresses, phone numbers, ID numbers (Chinese resident
// ID with a valid check digit, US SSN), credit-card numbers (Luhn-valid, 13-19 digits) and
// IPv4/IPv6 addresses are replaced by a chosen string ("{type}" in it becomes EMAIL,
// PHONE, ID, CARD or IP). Hand-written scanners: one pass, no backtracking.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace chatforge::data {

enum PiiType : int { kPiiEmail = 0, kPiiPhone, kPiiId, kPiiCard, kPiiIp, kPiiTypeCount };
const char* pii_type_name(int type);  // "email", "phone", "id", "card", "ip"

struct PiiOptions {
  bool enabled[kPiiTypeCount] = {true, true, true, true, true};
  std::string replacement = "<{type}>";  // "{type}" -> EMAIL, PHONE, ID, CARD, IP
};
// "email,phone" -> only those on; "none" -> all off; "all" -> all on.
void parse_pii_types(const std::string& list, PiiOptions& o);

struct PiiCounts {
  uint64_t n[kPiiTypeCount] = {0, 0, 0, 0, 0};
  uint64_t total() const { return n[0] + n[1] + n[2] + n[3] + n[4]; }
};

// Returns the scrubbed text; adds what it replaced to counts.
// scrub_pii("mail bob@example.com", {}) -> "mail <EMAIL>"
std::string scrub_pii(std::string_view text, const PiiOptions& o, PiiCounts& counts);

bool luhn_valid(std::string_view digits);
bool cn_id_valid(std::string_view id18);  // 17 digits + check digit (0-9 or X)

}  // namespace chatforge::data
