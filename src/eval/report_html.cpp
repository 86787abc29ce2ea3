// HTML report builder with inline SVG bar charts (see report_html.h).
#include "eval/report_html.h"

#include "core/svg_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace chatforge::eval {

std::string html_escape(std::string_view s) { return xml_escape(s); }

namespace {
// A short label for an axis or bar value: 3 significant digits.
std::string short_number(double v) {
  if (v == 0) return "0";
  const double a = std::fabs(v);
  if (a >= 100) return fmt::format("{:.0f}", v);
  if (a >= 10) return fmt::format("{:.1f}", v);
  if (a >= 1) return fmt::format("{:.2f}", v);
  return fmt::format("{:.3f}", v);
}
}  // namespace

std::string svg_bar_chart(const std::string& title, const std::vector<Bar>& bars, int width, int height) {
  const double left = 56, right = 16, top = 32, bottom = 48;
  const double plot_w = width - left - right, plot_h = height - top - bottom;
  double lo = 0, hi = 0;
  for (const Bar& b : bars) {
    lo = std::min({lo, b.value, b.lo.value_or(b.value)});
    hi = std::max({hi, b.value, b.hi.value_or(b.value)});
  }
  if (hi == lo) hi = lo + 1;
  hi += (hi - lo) * 0.05;
  auto y_of = [&](double v) { return top + plot_h * (hi - v) / (hi - lo); };

  std::string s = fmt::format(
      R"(<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{}" viewBox="0 0 {} {}" role="img" aria-label="{}">)",
      width, height, width, height, html_escape(title));
  s += fmt::format(R"(<text x="{}" y="20" font-size="14" font-weight="bold" font-family="sans-serif">{}</text>)", left,
                   html_escape(title));
  // Axis with 5 ticks.
  for (int t = 0; t <= 4; ++t) {
    const double v = lo + (hi - lo) * t / 4.0;
    const double y = y_of(v);
    s += fmt::format(R"(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="#ddd"/>)", left, y, left + plot_w, y);
    s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" font-size="11" text-anchor="end" font-family="sans-serif">{}</text>)",
                     left - 6, y + 4, short_number(v));
  }
  const double zero_y = y_of(0);
  s += fmt::format(R"(<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="#333"/>)", left, zero_y,
                   left + plot_w, zero_y);
  const double slot = bars.empty() ? plot_w : plot_w / static_cast<double>(bars.size());
  const double bar_w = std::max(4.0, slot * 0.6);
  for (size_t i = 0; i < bars.size(); ++i) {
    const Bar& b = bars[i];
    const double cx = left + slot * (static_cast<double>(i) + 0.5);
    const double y0 = std::min(y_of(b.value), zero_y), y1 = std::max(y_of(b.value), zero_y);
    s += fmt::format(R"(<rect x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}" fill="#4e79a7"><title>{}: {}</title></rect>)",
                     cx - bar_w / 2, y0, bar_w, std::max(0.5, y1 - y0), html_escape(b.label), short_number(b.value));
    if (b.lo && b.hi) {
      const double ylo = y_of(*b.lo), yhi = y_of(*b.hi);
      s += fmt::format(R"(<g stroke="#222" stroke-width="1.5"><line x1="{0:.1f}" y1="{1:.1f}" x2="{0:.1f}" y2="{2:.1f}"/>)"
                       R"(<line x1="{3:.1f}" y1="{1:.1f}" x2="{4:.1f}" y2="{1:.1f}"/><line x1="{3:.1f}" y1="{2:.1f}" x2="{4:.1f}" y2="{2:.1f}"/></g>)",
                       cx, ylo, yhi, cx - bar_w / 6, cx + bar_w / 6);
    }
    s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" font-size="11" text-anchor="middle" font-family="sans-serif">{}</text>)",
                     cx, height - bottom + 16, html_escape(b.label));
    s += fmt::format(R"(<text x="{:.1f}" y="{:.1f}" font-size="10" text-anchor="middle" fill="#555" font-family="sans-serif">{}</text>)",
                     cx, height - bottom + 30, short_number(b.value));
  }
  s += "</svg>";
  return s;
}

void HtmlReport::heading(std::string_view text, int level) {
  level = std::clamp(level, 1, 6);
  body_ += fmt::format("<h{0}>{1}</h{0}>\n", level, html_escape(text));
}

void HtmlReport::paragraph(std::string_view text) { body_ += "<p>" + html_escape(text) + "</p>\n"; }

void HtmlReport::raw(std::string_view html) {
  body_ += html;
  body_ += '\n';
}

void HtmlReport::table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  body_ += "<table>\n<thead><tr>";
  for (const auto& h : header) body_ += "<th>" + html_escape(h) + "</th>";
  body_ += "</tr></thead>\n<tbody>\n";
  for (const auto& row : rows) {
    body_ += "<tr>";
    for (const auto& cell : row) body_ += "<td>" + html_escape(cell) + "</td>";
    body_ += "</tr>\n";
  }
  body_ += "</tbody></table>\n";
}

std::string HtmlReport::html() const {
  return fmt::format(R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{0}</title>
<style>
body {{ font-family: sans-serif; max-width: 960px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; margin: 1em 0; }}
th, td {{ border: 1px solid #ccc; padding: 4px 10px; text-align: left; }}
th {{ background: #f3f3f3; }}
svg {{ display: block; margin: 1em 0; }}
</style></head><body>
<h1>{0}</h1>
{1}</body></html>
)",
                     html_escape(title_), body_);
}

}  // namespace chatforge::eval
