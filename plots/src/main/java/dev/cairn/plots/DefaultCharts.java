package dev.cairn.plots;

import dev.cairn.metrics.MetricsFile;
import dev.cairn.metrics.Series;
import java.util.ArrayList;
import java.util.List;

/**
 * The charts every run gets, from the metrics it logs: loss (raw, moving average, val_loss),
 * learning rate, throughput (samples_per_s when logged, else steps/s from the records' times), and
 * accuracy (every metric whose name contains "accuracy").
 */
final class DefaultCharts {
  private DefaultCharts() {}

  static String fileName(Charts.Spec spec) {
    return switch (spec.title()) {
      case TITLE_LOSS -> "loss";
      case TITLE_LR -> "lr";
      case TITLE_THROUGHPUT -> "throughput";
      default -> "accuracy";
    };
  }

  static final String TITLE_LOSS = "Loss";
  static final String TITLE_LR = "Learning rate";
  static final String TITLE_THROUGHPUT = "Throughput";
  static final String TITLE_ACCURACY = "Accuracy";

  static List<Charts.Spec> of(MetricsFile m, PlotSettings st) {
    List<Charts.Spec> out = new ArrayList<>();
    int w = st.width();
    int h = st.height();
    Series loss = m.series("loss");
    Series val = m.series("val_loss");
    if (loss != null || val != null) {
      List<Charts.Line> lines = new ArrayList<>();
      if (loss != null) {
        double[][] p = loss.points(Double.NEGATIVE_INFINITY);
        lines.add(new Charts.Line("loss", p[0], p[1], Charts.colour(0), 1f));
        if (st.smoothing() > 1 && p[0].length > st.smoothing()) {
          lines.add(
              new Charts.Line(
                  "loss, moving average of " + st.smoothing(),
                  p[0],
                  Series.movingAverage(p[1], st.smoothing()),
                  Charts.colour(1),
                  2.5f));
        }
      }
      if (val != null) {
        double[][] p = val.points(Double.NEGATIVE_INFINITY);
        lines.add(new Charts.Line("val_loss", p[0], p[1], Charts.colour(2), 2.5f));
      }
      out.add(new Charts.Spec(TITLE_LOSS, "step", "loss", lines, st.logLoss(), w, h));
    }
    Series lr = m.series("lr");
    if (lr != null) {
      double[][] p = lr.points(Double.NEGATIVE_INFINITY);
      out.add(
          new Charts.Spec(
              TITLE_LR,
              "step",
              "learning rate",
              List.of(new Charts.Line("lr", p[0], p[1], Charts.colour(0), 2f)),
              false,
              w,
              h));
    }
    Series samples = m.series("samples_per_s");
    Series throughput = samples != null ? samples : m.series(MetricsFile.STEPS_PER_SECOND);
    if (throughput != null) {
      double[][] p = throughput.points(Double.NEGATIVE_INFINITY);
      String unit = samples != null ? "samples/s" : "steps/s";
      out.add(
          new Charts.Spec(
              TITLE_THROUGHPUT,
              "step",
              unit,
              List.of(new Charts.Line(unit, p[0], p[1], Charts.colour(0), 2f)),
              false,
              w,
              h));
    }
    List<Charts.Line> acc = new ArrayList<>();
    for (String name : m.metrics()) {
      if (name.contains("accuracy")) {
        double[][] p = m.series(name).points(Double.NEGATIVE_INFINITY);
        acc.add(new Charts.Line(name, p[0], p[1], Charts.colour(acc.size()), 2f));
      }
    }
    if (!acc.isEmpty()) {
      out.add(new Charts.Spec(TITLE_ACCURACY, "step", "accuracy (fraction)", acc, false, w, h));
    }
    return out;
  }
}
