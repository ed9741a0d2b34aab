package dev.cairn.system;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Asks {@code nvidia-smi} for each GPU's use. The query and the CSV it prints are nvidia-smi's
 * documented interface ({@code --query-gpu=... --format=csv,noheader,nounits}): one line per GPU,
 * fields in the order asked, memory in MiB, power in W, "[N/A]" where a GPU cannot say.
 */
final class GpuQuery {
  static final String FIELDS =
      "index,name,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw";
  private static final long TIMEOUT_SECONDS = 5;

  /** One GPU's reading; a NaN is a value nvidia-smi did not report. */
  record Gpu(
      int index,
      String name,
      double utilizationPercent,
      double memoryUsedBytes,
      double memoryTotalBytes,
      double temperatureCelsius,
      double powerWatts) {}

  private final Path executable;

  private GpuQuery(Path executable) {
    this.executable = executable;
  }

  /** The nvidia-smi found on {@code path} (a PATH value), if any. */
  static Optional<GpuQuery> find(String path) {
    if (path == null) {
      return Optional.empty();
    }
    for (String dir : path.split(File.pathSeparator)) {
      if (dir.isEmpty()) {
        continue;
      }
      Path p = Path.of(dir, "nvidia-smi");
      if (Files.isRegularFile(p) && Files.isExecutable(p)) {
        return Optional.of(new GpuQuery(p));
      }
    }
    return Optional.empty();
  }

  Path executable() {
    return executable;
  }

  /** Runs the query (at most 5 s); the GPUs it reported. */
  List<Gpu> query() throws IOException {
    Process p =
        new ProcessBuilder(
                executable.toString(), "--query-gpu=" + FIELDS, "--format=csv,noheader,nounits")
            .redirectErrorStream(true)
            .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
            .start();
    String out;
    try (InputStream in = p.getInputStream()) {
      out = new String(in.readNBytes(1 << 16), StandardCharsets.UTF_8);
      if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new IOException("nvidia-smi did not answer within " + TIMEOUT_SECONDS + " s");
      }
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while waiting for nvidia-smi", e);
    }
    if (p.exitValue() != 0) {
      throw new IOException(
          "nvidia-smi exited with "
              + p.exitValue()
              + ": "
              + out.strip().lines().findFirst().orElse(""));
    }
    return parse(out);
  }

  static List<Gpu> parse(String csv) throws IOException {
    List<Gpu> gpus = new ArrayList<>();
    for (String line : csv.split("\n")) {
      if (line.isBlank()) {
        continue;
      }
      String[] f = line.split(",");
      if (f.length != 7) {
        throw new IOException("unexpected nvidia-smi line (7 fields expected): " + line.strip());
      }
      try {
        gpus.add(
            new Gpu(
                Integer.parseInt(f[0].strip()),
                f[1].strip(),
                number(f[2]),
                number(f[3]) * (1 << 20),
                number(f[4]) * (1 << 20),
                number(f[5]),
                number(f[6])));
      } catch (NumberFormatException e) {
        throw new IOException("unexpected nvidia-smi line: " + line.strip(), e);
      }
    }
    return gpus;
  }

  private static double number(String s) {
    String t = s.strip();
    if (t.isEmpty() || t.contains("N/A") || t.startsWith("[")) {
      return Double.NaN; // "[N/A]", "[Not Supported]"
    }
    return Double.parseDouble(t);
  }
}
