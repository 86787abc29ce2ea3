// Implementation of svg_chart.h.
#include "core/svg_chart.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace chatforge {

std::string xml_escape(std::string_view s) {
  std::string o;
  o.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': o += "&amp;"; break;
      case '<': o += "&lt;"; break;
      case '>': o += "&gt;"; break;
      case '"': o += "&quot;"; break;
      case '\'': o += "&#39;"; break;
      default: o += c;
    }
  }
  return o;
}

namespace {
// "Nice" tick step for a range: 1, 2 or 5 times a power of ten, about n ticks.
double nice_step(double range, int n) {
  const double raw = range / std::max(n, 1);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}
std::string fmt_num(double v) {
  if (v != 0 && (std::fabs(v) >= 1e5 || std::fabs(v) < 1e-3)) return fmt::format("{:.2g}", v);
  return fmt::format("{:.4g}", v);
}
constexpr const char* kColors[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b"};
}  // namespace

std::string svg_line_chart(const std::string& title, const std::string& x_label, const std::vector<Series>& series,
                           int width, int height) {
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto& s : series)
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x0 = std::min(x0, s.x[i]);
      x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, s.y[i]);
      y1 = std::max(y1, s.y[i]);
    }
  std::string o = fmt::format(
      "<svg xmlns='http://www.w3.org/2000/svg' width='{}' height='{}' viewBox='0 0 {} {}' "
      "font-family='sans-serif' font-size='11'>\n<text x='{}' y='16' text-anchor='middle' font-size='13' "
      "font-weight='bold'>{}</text>\n",
      width, height, width, height, width / 2, xml_escape(title));
  if (!std::isfinite(x0)) return o + "<text x='20' y='40'>no data yet</text></svg>\n";
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) {
    y1 += std::fabs(y0) * 0.05 + 1e-9;
    y0 -= std::fabs(y0) * 0.05 + 1e-9;
  }
  const double L = 64, R = width - 16.0, Tp = 28, Bt = height - 40.0;
  auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (R - L); };
  auto py = [&](double y) { return Bt - (y - y0) / (y1 - y0) * (Bt - Tp); };
  o += fmt::format("<rect x='{}' y='{}' width='{}' height='{}' fill='none' stroke='#999'/>\n", L, Tp, R - L, Bt - Tp);
  const double ys = nice_step(y1 - y0, 5);
  for (double v = std::ceil(y0 / ys) * ys; v <= y1 + 1e-12; v += ys)
    o += fmt::format("<line x1='{:.1f}' x2='{:.1f}' y1='{:.1f}' y2='{:.1f}' stroke='#eee'/><text x='{:.1f}' "
                     "y='{:.1f}' text-anchor='end'>{}</text>\n",
                     L, R, py(v), py(v), L - 4, py(v) + 4, fmt_num(v));
  const double xs = nice_step(x1 - x0, 6);
  for (double v = std::ceil(x0 / xs) * xs; v <= x1 + 1e-12; v += xs)
    o += fmt::format("<text x='{:.1f}' y='{:.1f}' text-anchor='middle'>{}</text>\n", px(v), Bt + 14, fmt_num(v));
  o += fmt::format("<text x='{}' y='{}' text-anchor='middle'>{}</text>\n", (L + R) / 2, height - 6,
                   xml_escape(x_label));
  for (size_t k = 0; k < series.size(); ++k) {
    const auto& s = series[k];
    const char* color = kColors[k % std::size(kColors)];
    std::string pts;
    size_t n = 0;
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      pts += fmt::format("{:.1f},{:.1f} ", px(s.x[i]), py(s.y[i]));
      ++n;
    }
    if (n == 1) {
      o += fmt::format("<circle cx='{}' r='3' fill='{}' cy='{}'/>\n", pts.substr(0, pts.find(',')), color,
                       pts.substr(pts.find(',') + 1));
    } else {
      o += fmt::format("<polyline fill='none' stroke='{}' stroke-width='1.5' points='{}'/>\n", color, pts);
    }
    o += fmt::format("<rect x='{}' y='{}' width='10' height='10' fill='{}'/><text x='{}' y='{}'>{}</text>\n",
                     L + 8 + 130 * k, Tp + 6, color, L + 22 + 130 * k, Tp + 15, xml_escape(s.name));
  }
  return o + "</svg>\n";
}

}  // namespace chatforge
