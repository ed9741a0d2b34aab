package dev.cairn.plots;

import static org.assertj.core.api.Assertions.assertThat;

import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The PNGs decode, have the asked size, and the curve's pixels are where the data puts them. */
class ChartsTest {
  @TempDir Path dir;

  /** Pixels of this colour (anti-aliasing blends the line's edges, not its core), as a mask. */
  static boolean[][] mask(BufferedImage img, Color c, int maxRow) {
    boolean[][] m = new boolean[img.getWidth()][maxRow];
    for (int x = 0; x < img.getWidth(); x++) {
      for (int y = 0; y < maxRow; y++) {
        int rgb = img.getRGB(x, y);
        int d =
            Math.abs(((rgb >> 16) & 0xFF) - c.getRed())
                + Math.abs(((rgb >> 8) & 0xFF) - c.getGreen())
                + Math.abs((rgb & 0xFF) - c.getBlue());
        m[x][y] = d <= 60;
      }
    }
    return m;
  }

  @Test
  void parabolaIsDrawnWhereItsValuesSay() throws Exception {
    int n = 201;
    double[] x = new double[n];
    double[] y = new double[n];
    for (int i = 0; i < n; i++) {
      x[i] = i * 0.5; // 0 .. 100
      y[i] = x[i] * x[i] / 100; // 0 .. 100
    }
    Charts.Spec spec =
        new Charts.Spec(
            "Parabola",
            "step",
            "value",
            List.of(new Charts.Line("y = x^2/100", x, y, Charts.colour(0), 2f)),
            false,
            1200,
            700);
    new PlotFiles(dir, 0).write("parabola", 100, Charts.image(spec));
    BufferedImage img = ImageIO.read(dir.resolve("parabola_latest.png").toFile());
    java.nio.file.Files.createDirectories(Path.of("target", "plots"));
    ImageIO.write(img, "png", Path.of("target", "plots", "parabola.png").toFile()); // to look at
    assertThat(img.getWidth()).isEqualTo(1200);
    assertThat(img.getHeight()).isEqualTo(700);

    // The legend sits below the plot; look above it.
    int rows = 600;
    boolean[][] m = mask(img, Charts.colour(0), rows);
    int minX = Integer.MAX_VALUE;
    int maxX = -1;
    int minY = Integer.MAX_VALUE;
    int maxY = -1;
    for (int px = 0; px < m.length; px++) {
      for (int py = 0; py < rows; py++) {
        if (m[px][py]) {
          minX = Math.min(minX, px);
          maxX = Math.max(maxX, px);
          minY = Math.min(minY, py);
          maxY = Math.max(maxY, py);
        }
      }
    }
    assertThat(maxX - minX).as("curve width in pixels").isGreaterThan(800);
    assertThat(maxY - minY).as("curve height in pixels").isGreaterThan(350);
    // Every column of the curve has its pixels on the parabola (a few pixels of line width).
    int checked = 0;
    for (int px = minX + 2; px <= maxX - 2; px += 10) {
      double fx = (px - minX) / (double) (maxX - minX);
      double expectedRow = maxY - fx * fx * (maxY - minY);
      int nearest = Integer.MAX_VALUE;
      for (int py = 0; py < rows; py++) {
        if (m[px][py]) {
          nearest = Math.min(nearest, (int) Math.abs(py - expectedRow));
        }
      }
      assertThat(nearest).as("column %d (x fraction %.2f)", px, fx).isLessThanOrEqualTo(4);
      checked++;
    }
    assertThat(checked).isGreaterThan(80);
    // And nowhere else: no curve pixel far from the parabola.
    for (int px = minX; px <= maxX; px++) {
      double fx = (px - minX) / (double) (maxX - minX);
      double expectedRow = maxY - fx * fx * (maxY - minY);
      for (int py = 0; py < rows; py++) {
        if (m[px][py]) {
          // Steep near the right end: allow the rows the line crosses within one column.
          double slope = 2 * fx * (maxY - minY) / (maxX - minX);
          assertThat(Math.abs(py - expectedRow)).isLessThanOrEqualTo(4 + slope * 2);
        }
      }
    }
  }

  @Test
  void logScaleDropsNonPositiveValuesAndHistogramsCountEveryValue() {
    double[][] h = Charts.histogram(new float[] {0, 0, 1, 2, 2, 2, Float.NaN}, 3);
    assertThat(h[1]).containsExactly(2, 1, 3);
    Charts.Spec spec =
        new Charts.Spec(
            "Loss",
            "step",
            "loss",
            List.of(
                new Charts.Line(
                    "loss", new double[] {0, 1, 2}, new double[] {1, 0, 0.1}, Color.BLUE, 1f)),
            true,
            400,
            300);
    // A zero cannot sit on a log axis: the chart falls back to linear instead of failing.
    BufferedImage img = Charts.image(spec);
    assertThat(img.getWidth()).isEqualTo(400);
  }
}
