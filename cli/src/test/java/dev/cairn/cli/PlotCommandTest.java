package dev.cairn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cairn.plots.Charts;
import dev.cairn.run.Cairn;
import dev.cairn.run.Run;
import dev.cairn.run.RunOptions;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlotCommandTest {
  @TempDir Path dir;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int cairn(String... args) {
    return Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
  }

  private Path run(String name, double scale) throws Exception {
    try (Run run = Cairn.open(dir, RunOptions.named(name))) {
      for (int s = 0; s < 200; s++) {
        run.log(s, Map.of("loss", scale * Math.exp(-s / 50.0), "lr", 0.01));
      }
    }
    return dir.resolve(name);
  }

  private static boolean has(BufferedImage img, Color c) {
    for (int x = 0; x < img.getWidth(); x++) {
      for (int y = 0; y < img.getHeight() - 80; y++) {
        int rgb = img.getRGB(x, y);
        int d =
            Math.abs(((rgb >> 16) & 0xFF) - c.getRed())
                + Math.abs(((rgb >> 8) & 0xFF) - c.getGreen())
                + Math.abs((rgb & 0xFF) - c.getBlue());
        if (d <= 30) {
          return true;
        }
      }
    }
    return false;
  }

  @Test
  void overlaysRunsIntoOnePng() throws Exception {
    Path a = run("a", 1.0);
    Path b = run("b", 2.0);
    Path png = dir.resolve("cmp.png");
    assertThat(
            cairn(
                "plot",
                a.toString(),
                b.toString(),
                "--metric",
                "loss",
                "--smooth",
                "5",
                "--log",
                "-o",
                png.toString()))
        .isZero();
    BufferedImage img = ImageIO.read(png.toFile());
    assertThat(img.getWidth()).isEqualTo(1200);
    assertThat(img.getHeight()).isEqualTo(700);
    assertThat(has(img, Charts.colour(0))).as("run a's line").isTrue();
    assertThat(has(img, Charts.colour(1))).as("run b's line").isTrue();
    assertThat(has(img, Charts.colour(2))).as("no third line").isFalse();
  }

  @Test
  void unknownMetricListsTheMetricsThatExistAndWritesNothing() throws Exception {
    Path a = run("a", 1.0);
    Path png = dir.resolve("none.png");
    assertThat(cairn("plot", a.toString(), "-m", "accuracy", "-o", png.toString())).isEqualTo(2);
    assertThat(err.toString()).contains("run a has no metric 'accuracy'; it has: loss, lr");
    assertThat(png).doesNotExist();
    assertThat(cairn("plot", a.toString(), "-o", dir.resolve("x.jpg").toString())).isEqualTo(2);
    assertThat(err.toString()).contains("-o must name a .png file");
  }
}
