package dev.cairn.manager;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.TreeMap;

/**
 * Whether a resume continued the training it interrupted, judged from the loss, step by step.
 *
 * <p>Two ways, the exact one first. When an earlier session had already run (and logged) some of
 * the steps a resume replays, the replayed steps must give the same losses: the same weights,
 * optimizer state, data and RNG compute the same numbers. Their differences are compared with the
 * loss's own step-to-step noise; a lost optimizer state or data position shows at once, while
 * floating-point noise (another thread count) stays far below it. Without recorded replays (a kill
 * right after a checkpoint), the first losses after the resume are compared with the window before
 * the checkpoint, median with median, and only a rise that is both large (the median over the
 * threshold, relative) and beyond chance (a one-sided Mann-Whitney rank test, which holds for any
 * distribution of the losses) is reported.
 *
 * <p>Thread-safe: losses arrive on the metrics writer thread, snapshots are taken on the training
 * thread.
 */
final class LossWatch {
  /** Losses after a resume compared before a verdict (fewer when fewer were recorded). */
  static final int COMPARE = 20;

  /** Replayed losses differing by more than this fraction of the noise mean a different run. */
  static final double REPLAY_NOISE_FRACTION = 0.5;

  /**
   * A rank-test z beyond this is not chance. Exact resumes of the demo reach 4.0 at worst (the
   * losses are autocorrelated, so z runs wider than the textbook's), a lost optimizer state the
   * maximum (6.5 for 50 losses before and 20 after).
   */
  static final double WINDOW_Z = 4.5;

  /** Relative differences below this are rounding (float32 losses, thread counts). */
  static final double ROUNDING = 1e-6;

  /** What the comparison after a resume found. */
  record Verdict(
      boolean replayed,
      int compared,
      double before,
      double after,
      double difference,
      double noise,
      double z,
      boolean jump,
      long lastStep) {

    /** The relative change of the mean (the size of the jump). */
    double relativeChange() {
      return Math.abs(after - before) / Math.max(Math.abs(before), 1e-12);
    }

    boolean exact() {
      return replayed && difference == 0;
    }
  }

  private final int window;
  private final double threshold;
  private final ArrayDeque<double[]> recent = new ArrayDeque<>();
  private long resumedAt = -1;
  private List<double[]> before = List.of();
  private double beforeAverage = Double.NaN;
  private NavigableMap<Long, Double> recorded = new TreeMap<>();
  private final List<double[]> pairs = new ArrayList<>();
  private final List<Double> after = new ArrayList<>();

  /**
   * @param window losses kept for the checkpoint (the moving average and the comparison's "before")
   * @param threshold relative change of the mean reported by the statistical comparison
   */
  LossWatch(int window, double threshold) {
    this.window = window;
    this.threshold = threshold;
  }

  /**
   * Adds the loss of step {@code step} (0-based); returns the verdict once, when enough losses
   * after a resume were seen.
   */
  synchronized Verdict add(long step, double value) {
    if (!Double.isFinite(value)) {
      return null;
    }
    if (!recent.isEmpty() && recent.peekLast()[0] >= step) {
      recent.clear(); // steps went back: a new start in this process; the old window is moot
    }
    recent.addLast(new double[] {step, value});
    if (recent.size() > window) {
      recent.removeFirst();
    }
    if (resumedAt < 0 || step < resumedAt) {
      return null;
    }
    if (!recorded.isEmpty()) {
      Double old = recorded.get(step);
      if (old != null) {
        pairs.add(new double[] {old, value});
      }
      if (step >= recorded.lastKey()) {
        return finish(step);
      }
      return null;
    }
    after.add(value);
    return after.size() >= Math.min(window, COMPARE) ? finish(step) : null;
  }

  /** The mean of the losses kept (NaN before any). */
  synchronized double average() {
    if (recent.isEmpty()) {
      return Double.NaN;
    }
    double sum = 0;
    for (double[] p : recent) {
      sum += p[1];
    }
    return sum / recent.size();
  }

  /** The losses kept of steps before {@code completed}, as [step, loss] pairs, oldest first. */
  synchronized List<double[]> window(long completed) {
    List<double[]> out = new ArrayList<>();
    for (double[] p : recent) {
      if (p[0] < completed) {
        out.add(p.clone());
      }
    }
    return out;
  }

  /**
   * A resume at {@code step} (the first step to run again).
   *
   * @param savedWindow the checkpoint's [step, loss] pairs (may be empty)
   * @param savedAverage the checkpoint's moving average (NaN when it has none), used when it has no
   *     window (older checkpoints)
   * @param replayed losses earlier sessions logged around {@code step}: those from {@code step} on
   *     are the replayed steps', those before it (when there are any) replace the saved window
   */
  synchronized void resumedAt(
      long step, List<double[]> savedWindow, double savedAverage, Map<Long, Double> replayed) {
    resumedAt = step;
    beforeAverage = savedAverage;
    recorded = new TreeMap<>();
    TreeMap<Long, Double> logged = new TreeMap<>();
    replayed.forEach(
        (s, v) -> {
          if (v != null && Double.isFinite(v) && s < step + COMPARE) {
            (s >= step ? recorded : logged).put(s, v);
          }
        });
    // The log's own losses before the checkpoint are the better "before": the checkpoint's window
    // was taken on the training thread while the metrics writer may have lagged behind it.
    List<double[]> fromLog = new ArrayList<>();
    logged.tailMap(step - window, true).forEach((s, v) -> fromLog.add(new double[] {s, v}));
    before = fromLog.size() >= 2 ? fromLog : List.copyOf(savedWindow);
    pairs.clear();
    after.clear();
    recent.clear();
    for (double[] p : before) {
      recent.addLast(p.clone());
    }
  }

  private Verdict finish(long step) {
    Verdict v = recorded.isEmpty() ? windowVerdict(step) : replayVerdict(step);
    resumedAt = -1;
    recorded = new TreeMap<>();
    return v;
  }

  private Verdict replayVerdict(long step) {
    double sumSq = 0;
    double sumOld = 0;
    double sumNew = 0;
    double scale = 0;
    List<Double> series = new ArrayList<>();
    for (double[] p : before) {
      series.add(p[1]);
    }
    for (double[] p : pairs) {
      double d = p[1] - p[0];
      sumSq += d * d;
      sumOld += p[0];
      sumNew += p[1];
      scale += Math.abs(p[0]);
    }
    if (recorded.size() >= 4) {
      series.clear(); // the replayed steps' own spread, where the comparison is made
    }
    recorded.values().forEach(series::add);
    int n = pairs.size();
    if (n == 0) {
      // None of the recorded steps came back through the log (they were lost): no verdict.
      return null;
    }
    double rms = Math.sqrt(sumSq / n);
    double noise = noise(series);
    double rounding = ROUNDING * scale / n;
    boolean jump = rms > rounding && (noise == 0 || rms > REPLAY_NOISE_FRACTION * noise);
    return new Verdict(true, n, sumOld / n, sumNew / n, rms, noise, Double.NaN, jump, step);
  }

  private Verdict windowVerdict(long step) {
    int na = after.size();
    if (before.size() < 2) {
      // An old checkpoint with only a moving average: the relative threshold is all there is.
      if (Double.isNaN(beforeAverage)) {
        return null;
      }
      double meanAfter = after.stream().mapToDouble(Double::doubleValue).average().orElseThrow();
      double rel = Math.abs(meanAfter - beforeAverage) / Math.max(Math.abs(beforeAverage), 1e-12);
      return new Verdict(
          false,
          na,
          beforeAverage,
          meanAfter,
          meanAfter - beforeAverage,
          Double.NaN,
          Double.NaN,
          rel > threshold,
          step);
    }
    // Per-batch losses are heavy-tailed (a few batches cost 10-100x the median) and drift, so
    // means, a fitted trend and Gaussian standard errors cry wolf: on the demo's 6,000 steps they
    // flagged 5% of exact resumes. Medians and a rank test ask only "are the losses after the
    // resume larger than those before it", whatever their distribution. One-sided: a lost
    // optimizer state or fresh weights raise the loss, while a falling loss is what training does.
    int nb = before.size();
    List<Double> beforeLosses = new ArrayList<>();
    for (double[] p : before) {
      beforeLosses.add(p[1]);
    }
    // Mann-Whitney U: pairs (after, before) with the later loss larger, ties counted half.
    long larger = 0;
    long ties = 0;
    for (double a : after) {
      for (double b : beforeLosses) {
        int order = Double.compare(a, b);
        if (order > 0) {
          larger++;
        } else if (order == 0) {
          ties++;
        }
      }
    }
    long pairs = (long) na * nb;
    double u = larger + ties / 2.0;
    double pairsCount = pairs;
    double z = (u - pairsCount / 2) / Math.sqrt(pairsCount * (na + nb + 1) / 12.0);
    double medianBefore = median(beforeLosses);
    double medianAfter = median(after);
    double relative = (medianAfter - medianBefore) / Math.max(Math.abs(medianBefore), 1e-12);
    // Either far beyond chance, or (with windows too small for that z) every loss after the
    // resume above every loss before it.
    boolean separated = z > WINDOW_Z || larger == pairs;
    boolean jump = relative > threshold && separated;
    return new Verdict(
        false,
        na,
        medianBefore,
        medianAfter,
        medianAfter - medianBefore,
        Double.NaN,
        z,
        jump,
        step);
  }

  private static double median(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    java.util.Collections.sort(sorted);
    int n = sorted.size();
    return n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
  }

  /**
   * The loss's step-to-step noise, from the most recent {@value #NOISE_SPAN} values: the median of
   * the absolute second differences (x[i+1] - 2 x[i] + x[i-1]), scaled to a standard deviation (for
   * independent Gaussian noise they have variance 6 σ², and the median of |N(0, 1)| is 0.6745).
   * Second differences cancel a trend (even the steep one of early training, which first
   * differences would count as noise), and the median ignores a few outliers.
   */
  private static double noise(List<Double> series) {
    int from = Math.max(0, series.size() - NOISE_SPAN);
    List<Double> diffs = new ArrayList<>();
    for (int i = from + 1; i + 1 < series.size(); i++) {
      diffs.add(Math.abs(series.get(i + 1) - 2 * series.get(i) + series.get(i - 1)));
    }
    if (diffs.isEmpty()) {
      return 0;
    }
    return median(diffs) / (0.6745 * Math.sqrt(6));
  }

  /** Losses the noise is estimated from (the newest ones). */
  static final int NOISE_SPAN = 20;
}
