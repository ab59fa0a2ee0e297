// nvmeof perf --plot: SVG written by hand, so the tool needs no plotting
// library. The layout is fixed (960 x 540 user units); everything scales.

#include "tools/nvmeof_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <vector>

namespace nvmeof::tools {
namespace {

constexpr double kWidth = 960, kHeight = 540;
// The plot area's margins: room for the title, tick labels, axis labels.
constexpr double kLeft = 90, kRight = 30, kTop = 80, kBottom = 70;
constexpr double kPlotW = kWidth - kLeft - kRight;
constexpr double kPlotH = kHeight - kTop - kBottom;
constexpr double kPlotBottom = kTop + kPlotH;

__attribute__((format(printf, 2, 3))) void Appendf(std::string& out,
                                                   const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  const int n = std::vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  if (n > 0) out.append(buf, std::min(static_cast<size_t>(n), sizeof(buf) - 1));
}

std::string Escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// The smallest of 1, 2 or 5 times a power of ten that is >= `raw` (> 0).
double NiceStep(double raw) {
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0}) {
    if (m * p >= raw) return m * p;
  }
  return 10 * p;
}

// Maps latencies (log10 decades [lmin, lmax]) and counts ([0, ymax]) to
// the plot area.
struct Scale {
  double lmin, lmax, ymax;
  double X(double us) const {
    return kLeft + (std::log10(us) - lmin) / (lmax - lmin) * kPlotW;
  }
  double Y(double count) const { return kPlotBottom - count / ymax * kPlotH; }
};

void XAxis(std::string& svg, const Scale& s) {
  for (int e = static_cast<int>(s.lmin); e <= static_cast<int>(s.lmax); ++e) {
    const double decade = std::pow(10.0, e);
    for (int m = 1; m <= 9; ++m) {
      const double us = m * decade;
      if (std::log10(us) > s.lmax + 1e-9) break;
      const double x = s.X(us);
      const bool labelled = m == 1 || m == 2 || m == 5;
      if (m == 1) {
        Appendf(svg,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"#ddd\"/>\n",
                x, kTop, x, kPlotBottom);
      }
      Appendf(svg,
              "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
              "stroke=\"#000\"/>\n",
              x, kPlotBottom, x, kPlotBottom + (labelled ? 6 : 3));
      if (labelled) {
        Appendf(
            svg,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%g</text>\n", x,
            kPlotBottom + 20, us);
      }
    }
  }
  Appendf(svg,
          "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">latency (us, "
          "log scale)</text>\n",
          kLeft + kPlotW / 2, kHeight - 20);
}

void YAxis(std::string& svg, const Scale& s, double step) {
  for (double c = 0; c <= s.ymax + step / 2; c += step) {
    const double y = s.Y(c);
    Appendf(svg,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"#eee\"/>\n",
            kLeft, y, kLeft + kPlotW, y);
    Appendf(svg,
            "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
            "stroke=\"#000\"/>\n",
            kLeft - 6, y, kLeft, y);
    Appendf(svg,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n",
            kLeft - 9, y + 4, c);
  }
  Appendf(svg,
          "<text transform=\"translate(%.1f %.1f) rotate(-90)\" "
          "text-anchor=\"middle\">I/Os per bucket</text>\n",
          20.0, kTop + kPlotH / 2);
}

}  // namespace

std::string LatencySvg(const Histogram& hist, const std::string& title) {
  const std::vector<Histogram::Bucket> buckets = hist.Buckets();
  // A bucket from 0 has no place on a log axis: draw it from half its top.
  auto low = [](const Histogram::Bucket& b) {
    return b.lo_us > 0 ? b.lo_us : b.hi_us / 2;
  };
  Scale s{0, 3, 1};
  uint64_t peak = 1;
  if (!buckets.empty()) {
    s.lmin = std::floor(std::log10(low(buckets.front())));
    s.lmax = std::ceil(std::log10(buckets.back().hi_us));
    if (s.lmax <= s.lmin) s.lmax = s.lmin + 1;
    for (const auto& b : buckets) peak = std::max(peak, b.count);
  }
  const double step = std::max(1.0, NiceStep(peak / 5.0));
  s.ymax = std::ceil(peak / step) * step;

  std::string svg;
  svg.reserve(4096 + buckets.size() * 96);
  Appendf(svg,
          "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
          "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
          "font-family=\"sans-serif\" font-size=\"12\">\n",
          kWidth, kHeight, kWidth, kHeight);
  svg += "<title>" + Escape(title) + "</title>\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n";
  Appendf(svg, "<text x=\"%.1f\" y=\"24\" font-size=\"16\">", kLeft);
  svg += Escape(title) + "</text>\n";
  Appendf(svg,
          "<text x=\"%.1f\" y=\"46\">latency us: avg %.1f  p50 %.1f  p99 %.1f "
          " p99.9 %.1f  max %.1f  (%llu I/Os)</text>\n",
          kLeft, hist.mean_us(), hist.Percentile(50), hist.Percentile(99),
          hist.Percentile(99.9), hist.max_us(),
          static_cast<unsigned long long>(hist.count()));

  XAxis(svg, s);
  YAxis(svg, s, step);
  svg += "<g fill=\"#4477aa\">\n";
  for (const auto& b : buckets) {
    const double x1 = s.X(low(b));
    const double w = std::max(s.X(b.hi_us) - x1, 1.0);
    const double y = s.Y(static_cast<double>(b.count));
    Appendf(svg,
            "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"/>\n",
            x1, y, w, kPlotBottom - y);
  }
  svg += "</g>\n";
  Appendf(svg,
          "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" "
          "fill=\"none\" stroke=\"#000\"/>\n",
          kLeft, kTop, kPlotW, kPlotH);

  if (buckets.empty()) {
    Appendf(svg,
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" "
            "font-size=\"16\">no I/O completed</text>\n",
            kLeft + kPlotW / 2, kTop + kPlotH / 2);
  } else {
    struct Marker {
      const char* name;
      double pct;
      const char* color;
    };
    const Marker markers[] = {{"p50", 50, "#2a9d8f"},
                              {"p99", 99, "#e76f51"},
                              {"p99.9", 99.9, "#9b2226"}};
    int row = 0;
    for (const Marker& m : markers) {
      const double us = hist.Percentile(m.pct);
      const double x = s.X(us);
      Appendf(svg,
              "<line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" "
              "stroke=\"%s\" stroke-width=\"1.5\" stroke-dasharray=\"6 3\"/>\n",
              x, kTop, x, kPlotBottom, m.color);
      // Staggered, so that close markers keep readable labels.
      Appendf(svg,
              "<text x=\"%.2f\" y=\"%.1f\" fill=\"%s\">%s %.1f us</text>\n",
              x + 4, kTop + 14 + 14 * row++, m.color, m.name, us);
    }
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace nvmeof::tools
