// Inline SVG line charts for reports people look at (training curves, throughput):
// several named series on shared axes with ticks and a legend. Self-contained markup,
// no scripts. Non-finite points are skipped.
#pragma once
#include <string>
#include <string_view>
#include <vector>

namespace chatforge {

struct Series {
  std::string name;
  std::vector<double> x, y;
};

std::string svg_line_chart(const std::string& title, const std::string& x_label, const std::vector<Series>& series,
                           int width = 720, int height = 300);

// Escapes &, <, >, " and ' for HTML text and attributes.
std::string xml_escape(std::string_view s);

}  // namespace chatforge
