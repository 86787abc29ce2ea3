// A small builder for self-contained HTML reports: headings, paragraphs, tables and
// inline SVG bar charts with confidence-interval whiskers (per-group metrics). No
// scripts or external assets, so a report opens anywhere and can be mailed as one file.
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chatforge::eval {

std::string html_escape(std::string_view s);

struct Bar {
  std::string label;
  double value = 0;
  std::optional<double> lo, hi;  // whisker (confidence interval), optional
};

// Inline SVG of vertical bars with value labels and whiskers; the axis starts at
// min(0, lowest whisker) and ends at the highest whisker or value.
std::string svg_bar_chart(const std::string& title, const std::vector<Bar>& bars, int width = 640, int height = 280);

class HtmlReport {
 public:
  explicit HtmlReport(std::string title) : title_(std::move(title)) {}
  void heading(std::string_view text, int level = 2);
  void paragraph(std::string_view text);  // escaped
  void raw(std::string_view html);        // trusted markup (e.g. an SVG from svg_bar_chart)
  void table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
  void bar_chart(const std::string& title, const std::vector<Bar>& bars) { raw(svg_bar_chart(title, bars)); }
  std::string html() const;

 private:
  std::string title_;
  std::string body_;
};

}  // namespace chatforge::eval
