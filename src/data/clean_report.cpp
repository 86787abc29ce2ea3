// report.json and report.html for `data clean`: counts in and out, drops per reason with
// examples, per-source/label distributions before and after, length histograms as inline
// SVG. Deterministic (no timings, no dates), so reruns give identical files.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "core/svg_chart.h"
#include "core/file_io.h"
#include "core/json_util.h"
#include "data/clean.h"

namespace chatforge::data {

namespace {

std::string escape_html(const std::string& s) { return xml_escape(s); }

std::string bin_label(size_t k) {
  const uint64_t lo = uint64_t{1} << k;
  if (lo >= 1000000) return fmt::format("{}M", lo / 1000000);
  if (lo >= 1000) return fmt::format("{}k", lo / 1000);
  return fmt::format("{}", lo);
}

// Grouped bar chart: one group per category, one bar per series.
std::string svg_bars(const std::string& title, const std::vector<std::string>& cats,
                     const std::vector<std::pair<std::string, std::vector<double>>>& series, bool log_scale) {
  const int w = 720, h = 260, left = 60, bottom = 60, top = 30;
  double vmax = 0;
  for (auto& s : series)
    for (double v : s.second) vmax = std::max(vmax, v);
  if (vmax <= 0) vmax = 1;
  auto scale = [&](double v) {
    if (log_scale) return v <= 0 ? 0.0 : std::log10(1 + v) / std::log10(1 + vmax);
    return v / vmax;
  };
  static const char* kColors[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759"};
  std::string out = fmt::format(R"(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" role="img">)", w, h);
  out += fmt::format(R"(<text x="{}" y="18" font-size="14" font-weight="bold">{}</text>)", left, escape_html(title));
  const double plot_w = w - left - 10, plot_h = h - bottom - top;
  const double group_w = cats.empty() ? plot_w : plot_w / cats.size();
  const double bar_w = std::max(1.0, group_w * 0.8 / std::max<size_t>(1, series.size()));
  out += fmt::format(R"(<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#333"/>)", left, top + plot_h, w - 10, top + plot_h);
  out += fmt::format(R"(<text x="5" y="{}" font-size="10">{}{}</text>)", top + 10, vmax, log_scale ? " (log)" : "");
  for (size_t c = 0; c < cats.size(); ++c) {
    for (size_t s = 0; s < series.size(); ++s) {
      const double v = c < series[s].second.size() ? series[s].second[c] : 0;
      const double bh = scale(v) * plot_h;
      const double x = left + c * group_w + group_w * 0.1 + s * bar_w;
      out += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="{}"><title>{} {}: {}</title></rect>)",
                         x, top + plot_h - bh, bar_w, bh, kColors[s % 4], escape_html(series[s].first),
                         escape_html(cats[c]), v);
    }
    const double cx = left + c * group_w + group_w / 2;
    out += fmt::format(R"~(<text x="{:.1f}" y="{}" font-size="10" text-anchor="end" transform="rotate(-40 {:.1f} {})">{}</text>)~",
                       cx, top + plot_h + 14, cx, top + plot_h + 14, escape_html(cats[c].substr(0, 24)));
  }
  for (size_t s = 0; s < series.size(); ++s)
    out += fmt::format(R"(<rect x="{}" y="{}" width="10" height="10" fill="{}"/><text x="{}" y="{}" font-size="11">{}</text>)",
                       w - 160, 8 + s * 14, kColors[s % 4], w - 145, 17 + s * 14, escape_html(series[s].first));
  out += "</svg>";
  return out;
}

nlohmann::ordered_json report_groups_json(const std::map<std::string, std::map<std::string, GroupCount>>& stages) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  for (const char* stage : {"input", "kept", "output"}) {
    nlohmann::ordered_json sj = nlohmann::ordered_json::object();
    auto it = stages.find(stage);
    if (it != stages.end())
      for (auto& [g, c] : it->second) sj[g] = {{"docs", c.docs}, {"bytes", c.bytes}};
    j[stage] = sj;
  }
  return j;
}

}  // namespace

void write_clean_report(const std::string& dir, const CleanReport& r) {
  namespace fs = std::filesystem;
  nlohmann::ordered_json j;
  j["files"] = r.files;
  j["input"] = {{"docs", r.docs_in}, {"bytes", r.bytes_in}};
  j["kept_before_rebalance"] = {{"docs", r.docs_kept}, {"bytes", r.bytes_kept}};
  j["output"] = {{"docs", r.docs_train + r.docs_val}, {"train_docs", r.docs_train}, {"val_docs", r.docs_val},
                 {"bytes", r.bytes_out}, {"upsampled_copies", r.upsampled_copies}};
  nlohmann::ordered_json dropped = nlohmann::ordered_json::object();
  uint64_t dropped_docs = 0;
  for (auto& [reason, s] : r.dropped) {
    nlohmann::ordered_json ex = nlohmann::ordered_json::array();
    for (auto& e : s.examples) ex.push_back({{"where", e.where}, {"detail", e.detail}, {"text", e.snippet}});
    dropped[reason] = {{"docs", s.docs}, {"bytes", s.bytes}, {"examples", ex}};
    dropped_docs += s.docs;
  }
  j["dropped_total"] = dropped_docs;
  j["dropped"] = dropped;
  nlohmann::ordered_json pii = nlohmann::ordered_json::object();
  for (int k = 0; k < kPiiTypeCount; ++k) pii[pii_type_name(k)] = r.pii.n[k];
  j["modified"] = {{"normalized_docs", r.docs_normalized},
                   {"invalid_utf8_docs", r.docs_invalid_utf8},
                   {"invalid_utf8_sequences", r.invalid_utf8_sequences},
                   {"sensitive_docs", r.docs_sensitive},
                   {"sensitive_matches", r.sensitive_matches},
                   {"pii_docs", r.docs_pii},
                   {"pii", pii}};
  nlohmann::ordered_json issues = nlohmann::ordered_json::array();
  for (auto& i : r.input_issues) issues.push_back(fmt::format("{}:{}: {}", i.file, i.line, i.reason));
  j["skipped_input"] = {{"count", r.n_input_issues}, {"lines", issues}};
  nlohmann::ordered_json groups = nlohmann::ordered_json::object();
  for (auto& [kind, stages] : r.groups) groups[kind] = report_groups_json(stages);
  j["groups"] = groups;
  j["rebalance_rates"] = r.rebalance_rates;
  j["length_histogram_chars"] = {{"bins_log2", "bin k counts documents with [2^k, 2^(k+1)) characters"},
                                 {"input", r.length_hist_in},
                                 {"output", r.length_hist_out}};
  j["dedup_index"] = {{"exact_entries", r.exact_index_entries}, {"near_entries", r.near_index_entries},
                      {"bytes", r.index_bytes}};
  j["options"] = parse_ordered_json(r.options_json.empty() ? "{}" : r.options_json, "clean options");
  write_file_atomic((fs::path(dir) / "report.json").string(),
                    j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");

  // HTML.
  std::string h;
  h += "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>chatforge data clean report</title>";
  h += "<style>body{font-family:system-ui,\"Noto Sans CJK SC\",\"Microsoft YaHei\",sans-serif;margin:2em;max-width:1000px}table{border-collapse:collapse;"
       "margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}"
       "th{background:#f3f3f3}.n{text-align:right}.ex{font-family:monospace;font-size:12px;color:#444}</style>";
  h += "</head><body><h1>Data clean report</h1>";
  h += "<table><tr><th></th><th class=n>documents</th><th class=n>bytes</th></tr>";
  h += fmt::format("<tr><td>input ({} files)</td><td class=n>{}</td><td class=n>{}</td></tr>", r.files, r.docs_in, r.bytes_in);
  h += fmt::format("<tr><td>kept after filters and dedup</td><td class=n>{}</td><td class=n>{}</td></tr>", r.docs_kept,
                   r.bytes_kept);
  h += fmt::format("<tr><td>output (train {} / val {}, {} up-sampled copies)</td><td class=n>{}</td><td class=n>{}</td></tr>",
                   r.docs_train, r.docs_val, r.upsampled_copies, r.docs_train + r.docs_val, r.bytes_out);
  h += "</table><h2>Dropped, per reason</h2><table><tr><th>reason</th><th class=n>documents</th><th class=n>bytes</th><th>examples</th></tr>";
  for (auto& [reason, s] : r.dropped) {
    std::string ex;
    for (auto& e : s.examples)
      ex += fmt::format("<div class=ex><b>{}</b> — {}<br>{}</div>", escape_html(e.where), escape_html(e.detail),
                        escape_html(e.snippet));
    h += fmt::format("<tr><td>{}</td><td class=n>{}</td><td class=n>{}</td><td>{}</td></tr>", escape_html(reason), s.docs,
                     s.bytes, ex);
  }
  h += "</table><h2>Modified</h2><table>";
  h += fmt::format("<tr><td>text changed by normalisation</td><td class=n>{}</td></tr>", r.docs_normalized);
  h += fmt::format("<tr><td>documents with invalid UTF-8 (sequences)</td><td class=n>{} ({})</td></tr>", r.docs_invalid_utf8,
                   r.invalid_utf8_sequences);
  h += fmt::format("<tr><td>documents with sensitive terms (matches)</td><td class=n>{} ({})</td></tr>", r.docs_sensitive,
                   r.sensitive_matches);
  h += fmt::format("<tr><td>documents with personal data scrubbed</td><td class=n>{}</td></tr>", r.docs_pii);
  for (int k = 0; k < kPiiTypeCount; ++k)
    h += fmt::format("<tr><td>&nbsp;&nbsp;{}</td><td class=n>{}</td></tr>", pii_type_name(k), r.pii.n[k]);
  h += "</table>";
  h += fmt::format("<h2>Skipped input lines ({})</h2><ul>", r.n_input_issues);
  for (size_t i = 0; i < r.input_issues.size() && i < 50; ++i) {
    const auto& is = r.input_issues[i];
    h += fmt::format("<li class=ex>{}:{}: {}</li>", escape_html(is.file), is.line, escape_html(is.reason));
  }
  if (r.input_issues.size() > 50) h += "<li>… (all listed in report.json)</li>";
  h += "</ul>";
  for (auto& [kind, stages] : r.groups) {
    std::vector<std::string> cats;
    if (auto it = stages.find("input"); it != stages.end())
      for (auto& [g, c] : it->second) cats.push_back(g);
    if (cats.size() > 40) cats.resize(40);
    std::vector<std::pair<std::string, std::vector<double>>> series;
    h += fmt::format("<h2>Per {} (bytes)</h2><table><tr><th>{}</th>", kind, kind);
    for (const char* stage : {"input", "kept", "output"}) {
      h += fmt::format("<th class=n>{} docs</th><th class=n>{} bytes</th><th class=n>share</th>", stage, stage);
      std::vector<double> v;
      auto it = stages.find(stage);
      for (auto& g : cats) {
        double b = 0;
        if (it != stages.end())
          if (auto gi = it->second.find(g); gi != it->second.end()) b = double(gi->second.bytes);
        v.push_back(b);
      }
      series.push_back({stage, v});
    }
    h += "</tr>";
    for (auto& g : cats) {
      h += fmt::format("<tr><td>{}</td>", escape_html(g.empty() ? "(none)" : g));
      for (const char* stage : {"input", "kept", "output"}) {
        GroupCount c, total;
        if (auto it = stages.find(stage); it != stages.end()) {
          if (auto gi = it->second.find(g); gi != it->second.end()) c = gi->second;
          for (auto& [k, v] : it->second) total.bytes += v.bytes;
        }
        h += fmt::format("<td class=n>{}</td><td class=n>{}</td><td class=n>{:.1f}%</td>", c.docs, c.bytes,
                         total.bytes ? 100.0 * c.bytes / total.bytes : 0.0);
      }
      h += "</tr>";
    }
    h += "</table>";
    std::vector<std::string> named;
    for (auto& g : cats) named.push_back(g.empty() ? "(none)" : g);
    h += svg_bars(fmt::format("bytes per {}: input, kept, output", kind), named, series, false);
  }
  {
    const size_t bins = std::max(r.length_hist_in.size(), r.length_hist_out.size());
    std::vector<std::string> cats;
    std::vector<double> a, b;
    for (size_t k = 0; k < bins; ++k) {
      cats.push_back(bin_label(k));
      a.push_back(k < r.length_hist_in.size() ? double(r.length_hist_in[k]) : 0);
      b.push_back(k < r.length_hist_out.size() ? double(r.length_hist_out[k]) : 0);
    }
    h += "<h2>Document length (characters, log2 bins)</h2>";
    h += svg_bars("documents per length bin: input vs output", cats, {{"input", a}, {"output", b}}, true);
  }
  h += "<h2>Options</h2><pre class=ex>" +
       escape_html(parse_ordered_json(r.options_json.empty() ? "{}" : r.options_json, "clean options").dump(2)) + "</pre>";
  h += "</body></html>\n";
  write_file_atomic((fs::path(dir) / "report.html").string(), h);
}

}  // namespace chatforge::data
