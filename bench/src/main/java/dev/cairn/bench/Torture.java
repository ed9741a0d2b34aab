package dev.cairn.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.checkpoint.LoadedCheckpoint;
import dev.cairn.checkpoint.Verification;
import dev.cairn.events.JsonLines;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * kill -9 at random instants, again and again, of a {@link DeterministicJob} that saves every few
 * steps; then let it finish and compare its final checkpoint with an uninterrupted run's. Counts
 * corrupt loads (a committed checkpoint that failed verification on resume), lost steps (a resume
 * from before the newest checkpoint the killed process had reported durable) and kills that landed
 * during a save.
 *
 * <p>Usage: {@code Torture DIR KILLS [STEPS] [SAVE_EVERY] [PARAMS] [SEED]}; prints one JSON line.
 */
public final class Torture {
  private Torture() {}

  /** What a torture run found. */
  public record Result(
      int kills,
      int killsDuringSave,
      int sessions,
      int corruptLoads,
      long lostSteps,
      boolean identical,
      String difference) {}

  public static void main(String[] args) throws Exception {
    Path dir = Path.of(args[0]);
    int kills = Integer.parseInt(args[1]);
    long steps = args.length > 2 ? Long.parseLong(args[2]) : 1500;
    long every = args.length > 3 ? Long.parseLong(args[3]) : 10;
    int params = args.length > 4 ? Integer.parseInt(args[4]) : 100_000;
    long seed = args.length > 5 ? Long.parseLong(args[5]) : 1;
    Result r = run(dir, kills, steps, every, params, seed, System.getProperty("java.class.path"));
    System.out.println(new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(r));
    System.exit(r.identical() && r.corruptLoads() == 0 && r.lostSteps() == 0 ? 0 : 1);
  }

  public static Result run(
      Path dir, int kills, long steps, long every, int params, long seed, String classpath)
      throws IOException, InterruptedException {
    Files.createDirectories(dir);
    String[] job = {
      "java",
      "-cp",
      classpath,
      "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
      DeterministicJob.class.getName(),
      dir.toString(),
      "",
      String.valueOf(steps),
      String.valueOf(every),
      String.valueOf(params)
    };
    job[6] = "reference";
    if (!Files.exists(dir.resolve("reference/results.json"))) {
      runToEnd(job);
    }
    job[6] = "tortured";
    Path run = dir.resolve("tortured");
    SplittableRandom random = new SplittableRandom(seed);
    int killed = 0;
    int duringSave = 0;
    int killedThisRound = 0;
    Result total = new Result(0, 0, 0, 0, 0, true, null);
    while (killed < kills) {
      // Kill only once this process's session has started and finished a step past where it
      // resumed (the child's own signals in sessions.jsonl and progress.json, not a guess of how
      // long a JVM takes to start on this machine); the random wait after it varies where the
      // kill lands (during a save or between saves).
      int sessionsBefore = sessions(run);
      Process p = start(job);
      if (!awaitOrExit(
          p, () -> sessions(run) > sessionsBefore && stepped(run, sessionsBefore + 1))) {
        if (p.exitValue() != 0) {
          throw new IOException(
              "the job failed on its own with exit code " + p.exitValue() + ":\n" + tail(job));
        }
        total = merge(total, check(dir, killedThisRound, 0));
        deleteTree(run);
        killedThisRound = 0;
        continue;
      }
      if (p.waitFor(random.nextLong(1500), TimeUnit.MILLISECONDS)) {
        if (p.exitValue() != 0) {
          throw new IOException(
              "the job failed on its own with exit code " + p.exitValue() + ":\n" + tail(job));
        }
        // The job outran the kill and finished: check this round, then start a new one.
        total = merge(total, check(dir, killedThisRound, 0));
        deleteTree(run);
        killedThisRound = 0;
        continue;
      }
      p.destroyForcibly().waitFor();
      killed++;
      killedThisRound++;
      if (savesInFlight(run.resolve("checkpoints"))) {
        duringSave++;
      }
    }
    runToEnd(job);
    total = merge(total, check(dir, killedThisRound, 0));
    return new Result(
        killed,
        duringSave,
        total.sessions(),
        total.corruptLoads(),
        total.lostSteps(),
        total.identical(),
        total.difference());
  }

  /** Waits for {@code ready}; false when the process exited first. */
  private static boolean awaitOrExit(Process p, java.util.function.BooleanSupplier ready)
      throws InterruptedException {
    while (!ready.getAsBoolean()) {
      if (p.waitFor(10, TimeUnit.MILLISECONDS)) {
        return false;
      }
    }
    return true;
  }

  /** Sessions started in the run so far (0 before it exists). */
  private static int sessions(Path run) {
    try {
      return (int)
          JsonLines.read(run.resolve("sessions.jsonl")).records().stream()
              .filter(r -> r.path("type").asText().equals("start"))
              .count();
    } catch (IOException e) {
      return 0;
    }
  }

  /** Whether progress.json is session {@code session}'s and names a step it ran. */
  private static boolean stepped(Path run, int session) {
    try {
      var p =
          new com.fasterxml.jackson.databind.ObjectMapper()
              .readTree(run.resolve("progress.json").toFile());
      return p.path("session").asInt() == session && p.has("last_step_time");
    } catch (IOException e) {
      return false;
    }
  }

  private static Result merge(Result a, Result b) {
    return new Result(
        a.kills() + b.kills(),
        a.killsDuringSave() + b.killsDuringSave(),
        a.sessions() + b.sessions(),
        a.corruptLoads() + b.corruptLoads(),
        a.lostSteps() + b.lostSteps(),
        a.identical() && b.identical(),
        a.difference() != null ? a.difference() : b.difference());
  }

  private static Process start(String[] job) throws IOException {
    Path log = Path.of(job[5]).resolve("jobs.log");
    return new ProcessBuilder(job)
        .redirectErrorStream(true)
        .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
        .start();
  }

  private static String tail(String[] job) throws IOException {
    List<String> lines = Files.readAllLines(Path.of(job[5]).resolve("jobs.log"));
    return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
  }

  private static void runToEnd(String[] job) throws IOException, InterruptedException {
    Process p = start(job);
    if (!p.waitFor(10, TimeUnit.MINUTES) || p.exitValue() != 0) {
      p.destroyForcibly();
      throw new IOException("the job did not finish cleanly:\n" + tail(job));
    }
  }

  private static boolean savesInFlight(Path checkpoints) throws IOException {
    if (!Files.isDirectory(checkpoints)) {
      return false;
    }
    try (Stream<Path> s = Files.list(checkpoints)) {
      return s.anyMatch(p -> String.valueOf(p.getFileName()).contains(".tmp-"));
    }
  }

  private static Result check(Path dir, int kills, int duringSave) throws IOException {
    Path run = dir.resolve("tortured");
    List<ObjectNode> events = JsonLines.read(run.resolve("events.jsonl")).records();
    int corrupt = 0;
    long lost = 0;
    // The newest step any session reported durable; a resume must never start before it.
    long savedInSession = -1;
    int sessions = 0;
    for (ObjectNode e : events) {
      switch (e.path("type").asText()) {
        case "session_started" -> {
          sessions++;
        }
        case "checkpoint_saved" ->
            savedInSession = Math.max(savedInSession, e.path("step").asLong());
        case "checkpoint_skipped" -> corrupt++;
        case "resumed" -> {
          long from = e.path("from_step").asLong();
          if (savedInSession > from) {
            lost += savedInSession - from;
          }
        }
        default -> {
          // other events do not matter here
        }
      }
    }
    String difference = compare(dir.resolve("reference"), run);
    return new Result(kills, duringSave, sessions, corrupt, lost, difference == null, difference);
  }

  /** Null when the newest checkpoints hold the same tensor bytes, else what differs. */
  static String compare(Path a, Path b) throws IOException {
    try (LoadedCheckpoint x = newest(a);
        LoadedCheckpoint y = newest(b)) {
      if (x.step() != y.step()) {
        return "final steps differ: " + x.step() + " vs " + y.step();
      }
      List<String> diffs = new ArrayList<>();
      for (String part : List.of("model", "optimizer")) {
        for (var t : x.tensors(part).tensors()) {
          if (!x.tensors(part).buffer(t.name()).equals(y.tensors(part).buffer(t.name()))) {
            diffs.add(part + "/" + t.name());
          }
        }
      }
      if (!x.json("state").path("components").equals(y.json("state").path("components"))) {
        diffs.add("state components (data cursor, RNG)");
      }
      return diffs.isEmpty() ? null : "tensors differ: " + diffs;
    }
  }

  private static LoadedCheckpoint newest(Path run) throws IOException {
    Path ck = run.resolve("checkpoints");
    long best = -1;
    try (Stream<Path> s = Files.list(ck)) {
      for (Path p : (Iterable<Path>) s::iterator) {
        String n = String.valueOf(p.getFileName());
        if (n.matches("step-[0-9]+")) {
          best = Math.max(best, Long.parseLong(n.substring(5)));
        }
      }
    }
    return LoadedCheckpoint.open(ck.resolve("step-" + best), Verification.FULL);
  }

  private static void deleteTree(Path p) throws IOException {
    dev.cairn.store.Storage.at(p).deleteTree("");
  }
}
