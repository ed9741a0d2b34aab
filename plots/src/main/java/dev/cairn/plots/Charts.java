package dev.cairn.plots;

import dev.cairn.metrics.Series;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * Draws readable line charts: title, axis titles with units, a legend, a log scale when asked and
 * possible, white background, fixed colours (so a test, or a person comparing two images, finds
 * each series by its colour). Long series are thinned to the min and max of each pixel column.
 */
public final class Charts {
  /** Series colours in order: strong and distinguishable. */
  private static final Color[] PALETTE = {
    new Color(0x1f, 0x77, 0xb4),
    new Color(0xd6, 0x27, 0x28),
    new Color(0x2c, 0xa0, 0x2c),
    new Color(0xff, 0x7f, 0x0e),
    new Color(0x94, 0x67, 0xbd),
    new Color(0x8c, 0x56, 0x4b),
    new Color(0xe3, 0x77, 0xc2),
    new Color(0x17, 0xbe, 0xcf)
  };

  static {
    if (System.getProperty("java.awt.headless") == null) {
      System.setProperty("java.awt.headless", "true");
    }
  }

  private Charts() {}

  /** The colour of the {@code i}-th series (cycling through eight). */
  public static Color colour(int i) {
    return PALETTE[Math.floorMod(i, PALETTE.length)];
  }

  /** One line of a chart. */
  public record Line(String label, double[] x, double[] y, Color color, float width) {}

  /** A chart to draw. */
  public record Spec(
      String title,
      String xTitle,
      String yTitle,
      List<Line> lines,
      boolean log,
      int width,
      int height) {}

  /** Builds the XChart chart of a spec. */
  public static XYChart chart(Spec spec) {
    XYChart chart =
        new XYChartBuilder()
            .width(spec.width())
            .height(spec.height())
            .title(spec.title())
            .xAxisTitle(spec.xTitle())
            .yAxisTitle(spec.yTitle())
            .build();
    var st = chart.getStyler();
    st.setChartBackgroundColor(Color.WHITE);
    st.setPlotBackgroundColor(Color.WHITE);
    st.setPlotBorderVisible(true);
    st.setPlotGridLinesColor(new Color(0xe0, 0xe0, 0xe0));
    st.setLegendPosition(Styler.LegendPosition.OutsideS);
    st.setLegendLayout(Styler.LegendLayout.Horizontal);
    st.setLegendBorderColor(new Color(0xc0, 0xc0, 0xc0));
    st.setChartTitleFont(new Font(Font.SANS_SERIF, Font.BOLD, 18));
    st.setAxisTitleFont(new Font(Font.SANS_SERIF, Font.PLAIN, 14));
    st.setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Line);
    st.setMarkerSize(0);
    st.setAntiAlias(true);
    boolean log = spec.log() && allPositive(spec.lines());
    st.setYAxisLogarithmic(log);
    if (log) {
      st.setYAxisDecimalPattern("0.###E0");
    }
    int buckets = Math.max(100, spec.width());
    for (Line l : spec.lines()) {
      double[][] p = log ? positive(l.x(), l.y()) : new double[][] {l.x(), l.y()};
      if (p[0].length == 0) {
        continue;
      }
      double[][] thin = Series.minMax(p[0], p[1], buckets);
      XYSeries s = chart.addSeries(l.label(), thin[0], thin[1]);
      s.setMarker(SeriesMarkers.NONE);
      s.setLineColor(l.color());
      s.setLineStyle(new BasicStroke(l.width(), BasicStroke.CAP_ROUND, BasicStroke.JOIN_ROUND));
    }
    return chart;
  }

  /** The chart as an image (TYPE_INT_ARGB), for files and tests. */
  public static BufferedImage image(Spec spec) {
    return BitmapEncoder.getBufferedImage(chart(spec));
  }

  private static boolean allPositive(List<Line> lines) {
    boolean any = false;
    for (Line l : lines) {
      for (double v : l.y()) {
        if (v <= 0) {
          return false;
        }
        any = true;
      }
    }
    return any;
  }

  private static double[][] positive(double[] x, double[] y) {
    List<double[]> keep = new ArrayList<>();
    for (int i = 0; i < x.length; i++) {
      if (y[i] > 0) {
        keep.add(new double[] {x[i], y[i]});
      }
    }
    double[][] out = new double[2][keep.size()];
    for (int i = 0; i < keep.size(); i++) {
      out[0][i] = keep.get(i)[0];
      out[1][i] = keep.get(i)[1];
    }
    return out;
  }

  /** A histogram as a step line over bin centres: {x, counts}. */
  static double[][] histogram(float[] values, int bins) {
    double lo = Double.POSITIVE_INFINITY;
    double hi = Double.NEGATIVE_INFINITY;
    for (float v : values) {
      if (Float.isFinite(v)) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
    if (lo > hi) {
      return new double[][] {new double[0], new double[0]};
    }
    if (lo == hi) {
      hi = lo + 1e-9;
    }
    double[] counts = new double[bins];
    double w = (hi - lo) / bins;
    for (float v : values) {
      if (Float.isFinite(v)) {
        int b = (int) Math.min(bins - 1, Math.floor((v - lo) / w));
        counts[b]++;
      }
    }
    double[] x = new double[bins];
    for (int i = 0; i < bins; i++) {
      x[i] = lo + (i + 0.5) * w;
    }
    return new double[][] {x, counts};
  }
}
