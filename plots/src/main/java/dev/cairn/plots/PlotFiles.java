package dev.cairn.plots;

import dev.cairn.checkpoint.Names;
import dev.cairn.store.AtomicFile;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.imageio.ImageIO;

/**
 * The plots folder: {@code <chart>_step_<N>.png} per drawing and {@code <chart>_latest.png} for the
 * newest, each written to a temporary name and renamed into place, so a reader (a browser, an image
 * viewer, a crash) never sees half a PNG. Older step files beyond the retention are deleted.
 */
public final class PlotFiles {
  private static final Pattern STEP_FILE = Pattern.compile("(.+)_step_(\\d+)\\.png");

  private final Path dir;
  private final int keep;

  /**
   * @param keep step files kept per chart (the newest ones); 0 keeps all
   */
  public PlotFiles(Path dir, int keep) {
    if (keep < 0) {
      throw new IllegalArgumentException("plot retention must be 0 (keep all) or more");
    }
    this.dir = dir;
    this.keep = keep;
  }

  public Path dir() {
    return dir;
  }

  /** Writes chart {@code name} at {@code step}; returns the step file. */
  public Path write(String name, long step, BufferedImage image) throws IOException {
    Names.requireSafe(name, "plot name");
    Files.createDirectories(dir);
    Path stepFile = dir.resolve(name + "_step_" + step + ".png");
    writeAtomically(image, stepFile);
    writeAtomically(image, dir.resolve(name + "_latest.png"));
    prune(name);
    return stepFile;
  }

  /**
   * Writes a PNG next to {@code target} and renames it over {@code target}. Not fsynced: a plot is
   * redrawn from metrics.jsonl, so a power cut may cost the newest drawing, never half of one.
   */
  public static void writeAtomically(BufferedImage image, Path target) throws IOException {
    AtomicFile.write(
        target,
        out -> {
          if (!ImageIO.write(image, "png", out)) {
            throw new IOException("no PNG writer in this JVM");
          }
        },
        AtomicFile.Sync.OS_BUFFERED);
  }

  private void prune(String name) throws IOException {
    if (keep == 0) {
      return;
    }
    List<long[]> steps = new ArrayList<>();
    List<Path> files = new ArrayList<>();
    try (Stream<Path> s = Files.list(dir)) {
      s.forEach(
          p -> {
            Matcher m = STEP_FILE.matcher(String.valueOf(p.getFileName()));
            if (m.matches() && m.group(1).equals(name)) {
              steps.add(new long[] {Long.parseLong(m.group(2)), files.size()});
              files.add(p);
            }
          });
    }
    steps.sort((a, b) -> Long.compare(b[0], a[0]));
    for (int i = keep; i < steps.size(); i++) {
      Files.deleteIfExists(files.get((int) steps.get(i)[1]));
    }
  }
}
