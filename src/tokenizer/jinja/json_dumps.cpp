// dumps(): Python's json.dumps byte for byte, as transformers' tojson filter calls it
// (ensure_ascii=False by default, so CJK and emoji stay as they are; ", " and ": "
// separators without indent; NaN/Infinity spelled as Python does).
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "tokenizer/jinja/pystr.h"
#include "tokenizer/jinja/value.h"
#include "tokenizer/unicode_text.h"

namespace chatforge::tok::jinja {
namespace {

void put_u(std::string& out, unsigned v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "\\u%04x", v);
  out += buf;
}

// json.encoder's string escaping: ESCAPE (or ESCAPE_ASCII with ensure_ascii).
void dump_string(std::string& out, const std::string& s, bool ensure_ascii) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    const DecodedChar d = decode_utf8(s, i);
    const int32_t cp = d.cp;
    switch (cp) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (cp >= 0 && cp < 0x20) {
          put_u(out, static_cast<unsigned>(cp));
        } else if (ensure_ascii && cp >= 0x80) {
          if (cp < 0x10000) {
            put_u(out, static_cast<unsigned>(cp));
          } else {
            const unsigned v = static_cast<unsigned>(cp) - 0x10000;
            put_u(out, 0xD800 + (v >> 10));
            put_u(out, 0xDC00 + (v & 0x3FF));
          }
        } else {
          out.append(s, i, static_cast<size_t>(d.len));
        }
    }
    i += static_cast<size_t>(d.len);
  }
  out += '"';
}

struct Dumper {
  const DumpOptions& opt;
  std::string item_sep, key_sep;
  std::string out;

  void newline(int depth) {
    out += '\n';
    for (int k = 0; k < depth; ++k) out += *opt.indent;
  }

  void dump_number(const Json& j) {
    if (!j.is_number_float()) {
      out += j.dump();
      return;
    }
    const double d = j.get<double>();
    if (std::isnan(d)) out += "NaN";
    else if (std::isinf(d)) out += d < 0 ? "-Infinity" : "Infinity";
    else out += py::float_repr(d);
  }

  void dump(const Json& j, int depth) {
    if (j.is_null()) out += "null";
    else if (j.is_boolean()) out += j.get<bool>() ? "true" : "false";
    else if (j.is_number()) dump_number(j);
    else if (j.is_string()) dump_string(out, j.get_ref<const std::string&>(), opt.ensure_ascii);
    else dump_container(j, depth);
  }

  void dump_container(const Json& j, int depth) {
    const bool is_obj = j.is_object();
    if (j.empty()) {
      out += is_obj ? "{}" : "[]";
      return;
    }
    out += is_obj ? '{' : '[';
    std::vector<Json::const_iterator> items;
    for (auto it = j.begin(); it != j.end(); ++it) items.push_back(it);
    if (is_obj && opt.sort_keys)
      std::stable_sort(items.begin(), items.end(), [](const auto& a, const auto& b) { return a.key() < b.key(); });
    for (size_t k = 0; k < items.size(); ++k) {
      if (k > 0) out += item_sep;
      if (opt.indent) newline(depth + 1);
      if (is_obj) {
        dump_string(out, items[k].key(), opt.ensure_ascii);
        out += key_sep;
      }
      dump(*items[k], depth + 1);
    }
    if (opt.indent) newline(depth);
    out += is_obj ? '}' : ']';
  }
};

}  // namespace

std::string dumps(const Json& j, const DumpOptions& opt) {
  Dumper d{opt, opt.indent ? "," : ", ", ": ", {}};
  if (opt.separators) d.item_sep = opt.separators->first, d.key_sep = opt.separators->second;
  d.dump(j, 0);
  return std::move(d.out);
}

}  // namespace chatforge::tok::jinja
