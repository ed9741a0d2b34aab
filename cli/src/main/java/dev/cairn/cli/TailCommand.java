package dev.cairn.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.locks.LockSupport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code cairn tail}: the run's metrics and events as they are written. */
@Command(
    name = "tail",
    mixinStandardHelpOptions = true,
    description = "Print a run's latest metrics and events; with -f keep following them.")
final class TailCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Parameters(
      paramLabel = "RUN_DIR",
      description = "a run folder, or a remote one like s3a://bucket/runs/NAME")
  String location;

  @picocli.CommandLine.Mixin Locations locations;

  @Option(
      names = {"-f", "--follow"},
      description = "keep printing new lines (Ctrl-C stops)")
  boolean follow;

  @Option(
      names = {"-n", "--lines"},
      defaultValue = "20",
      description =
          "how many of the latest lines of each file to start with (default ${DEFAULT-VALUE})")
  int lines;

  private static final class Follower {
    final Path file;
    final String kind;
    long offset;

    Follower(Path file, String kind) {
      this.file = file;
      this.kind = kind;
    }

    void startAtLastLines(int n) throws IOException {
      if (!Files.exists(file)) {
        return;
      }
      byte[] all = Files.readAllBytes(file);
      int count = 0;
      int i = all.length - 1;
      while (i > 0) {
        if (all[i - 1] == '\n' && ++count > n) {
          break;
        }
        i--;
      }
      offset = Math.max(0, i);
    }

    /** Prints complete new lines; a line still being written waits for the next poll. */
    void poll(PrintWriter out) throws IOException {
      if (!Files.exists(file)) {
        return;
      }
      try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "r")) {
        if (f.length() < offset) {
          offset = 0;
        }
        f.seek(offset);
        byte[] rest = new byte[(int) Math.min(f.length() - offset, 8 << 20)];
        f.readFully(rest);
        int start = 0;
        for (int i = 0; i < rest.length; i++) {
          if (rest[i] == '\n') {
            print(out, new String(rest, start, i - start, StandardCharsets.UTF_8));
            start = i + 1;
          }
        }
        offset += start;
      }
    }

    private void print(PrintWriter out, String line) {
      try {
        JsonNode n = Json.MAPPER.readTree(line);
        if (kind.equals("event")) {
          out.printf(
              "%s  %-7s %-20s %s%n",
              n.path("time").asText(),
              n.path("level").asText(),
              n.path("type").asText(),
              n.path("message").asText());
        } else {
          StringBuilder b = new StringBuilder();
          for (Map.Entry<String, JsonNode> e : n.properties()) {
            if (!e.getKey().equals("time") && !e.getKey().equals("step")) {
              b.append(' ').append(e.getKey()).append('=').append(e.getValue().asText());
            }
          }
          out.printf(
              "%s  metrics step %d%s%n", n.path("time").asText(), n.path("step").asLong(), b);
        }
      } catch (IOException e) {
        out.println(kind + " (damaged line) " + line);
      }
      out.flush();
    }
  }

  @Override
  public Integer call() throws IOException {
    if (lines < 0) {
      throw new IllegalArgumentException("--lines must be 0 or more");
    }
    Path dir = RunArgs.requireRun(locations.run(location));
    PrintWriter out = spec.commandLine().getOut();
    Follower metrics = new Follower(dir.resolve("metrics.jsonl"), "metrics");
    Follower events = new Follower(dir.resolve("events.jsonl"), "event");
    metrics.startAtLastLines(lines);
    events.startAtLastLines(lines);
    events.poll(out);
    metrics.poll(out);
    boolean remote = Locations.isRemote(location);
    String lastProblem = null;
    while (follow && !Thread.currentThread().isInterrupted()) {
      // A remote run's writer pushes every 5 s: pull at that pace, append-only, into the copy.
      LockSupport.parkNanos(remote ? 5_000_000_000L : 500_000_000L);
      if (remote) {
        try {
          locations.run(location);
          lastProblem = null;
        } catch (IOException | RuntimeException e) {
          // The network may come back (or the run be made again): keep following, say it once.
          String line = "cairn tail: " + Main.oneLine(e);
          if (!line.equals(lastProblem)) {
            spec.commandLine().getErr().println(line);
            spec.commandLine().getErr().flush();
          }
          lastProblem = line;
        }
      }
      events.poll(out);
      metrics.poll(out);
    }
    return 0;
  }
}
