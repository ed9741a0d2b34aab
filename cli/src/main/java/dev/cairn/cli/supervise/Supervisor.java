package dev.cairn.cli.supervise;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.events.EventType;
import dev.cairn.run.Cairn;
import dev.cairn.run.RunStatus;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import sun.misc.Signal;
import sun.misc.SignalHandler;

/**
 * Runs a command and restarts it when it fails (non-zero exit or death by a signal), like
 * torchrun's {@code --max-restarts}: exponential backoff from {@code backoff}, doubled per restart,
 * capped at {@code maxBackoff}, with "equal jitter" (a random point in the upper half of the delay)
 * so that many supervised jobs do not restart in lockstep. SIGINT and SIGTERM sent to the
 * supervisor go to the command, and the supervisor then exits with the command's code instead of
 * restarting it.
 *
 * <p>When the command is a Cairn job, its run folder learns about each restart: the job's process
 * writes its folder into the file named by {@link Cairn#SUPERVISOR_RUN_FILE}, and the supervisor
 * appends a {@code restart} event (exit code or signal, delay) there once the job has died.
 *
 * <p>The job may be a group of processes ({@code cairn launch}): a {@link Plan} says how many and
 * with what environment. An attempt ends when all of them exit 0, or when one fails; the others are
 * then stopped and the whole group restarts, with the same backoff and bound.
 */
public final class Supervisor {
  /** What each attempt runs: one command as one or several processes. */
  public interface Plan {
    /** The command line's name, which starts every message: "cairn supervise". */
    String name();

    /** The command every process runs. */
    List<String> command();

    /** The environment (added to ours) of each process of the attempt, one map per process. */
    List<Map<String, String>> environments(int attempt) throws IOException;

    /** Tags that precede each process's output lines, or null to let it print directly. */
    List<String> tags();

    /**
     * Which process failed, for messages: "" for a single one (or index -1, none), else " on rank
     * 1".
     */
    String where(int index);

    /** How long processes of a group have between SIGTERM and SIGKILL when one of them failed. */
    Duration stopGrace();

    /** The same after a forwarded SIGINT or SIGTERM; null to wait for them however long. */
    Duration signalGrace();
  }

  /** {@code cairn supervise}: one process that prints directly and is never killed by us. */
  private record Single(List<String> command) implements Plan {
    @Override
    public String name() {
      return "cairn supervise";
    }

    @Override
    public List<Map<String, String>> environments(int attempt) {
      return List.of(Map.of());
    }

    @Override
    public List<String> tags() {
      return null;
    }

    @Override
    public String where(int index) {
      return "";
    }

    @Override
    public Duration stopGrace() {
      return Duration.ZERO; // never used: a group of one has no others to stop
    }

    @Override
    public Duration signalGrace() {
      return null;
    }
  }

  /** What to supervise and how patiently. */
  public record Settings(int maxRestarts, Duration backoff, Duration maxBackoff, Path runDir) {
    public Settings {
      if (maxRestarts < 0) {
        throw new IllegalArgumentException("--max-restarts must be 0 or more, was " + maxRestarts);
      }
      if (backoff.isNegative() || maxBackoff.isNegative()) {
        throw new IllegalArgumentException("backoff durations must not be negative");
      }
    }
  }

  private static final Map<Integer, String> SIGNALS =
      Map.of(
          1, "SIGHUP", 2, "SIGINT", 3, "SIGQUIT", 6, "SIGABRT", 9, "SIGKILL", 11, "SIGSEGV", 15,
          "SIGTERM");

  private final Plan plan;
  private final List<String> command;
  private final String name;
  private final Settings settings;
  private final PrintWriter out;
  private final PrintWriter err;
  private final Random jitter;
  private final Object lock = new Object();
  private ProcessGroup group;
  private String stopSignal;
  private dev.cairn.alert.Webhook webhook;

  /** Supervises one command that prints to our own output. */
  public Supervisor(List<String> command, Settings settings, PrintWriter err, Random jitter) {
    this(new Single(List.copyOf(command)), settings, null, err, jitter);
  }

  /** Supervises what the plan describes; tagged output goes to {@code out} and {@code err}. */
  public Supervisor(Plan plan, Settings settings, PrintWriter out, PrintWriter err, Random jitter) {
    if (plan.command().isEmpty()) {
      throw new IllegalArgumentException("give the command to run after --");
    }
    this.plan = plan;
    this.command = List.copyOf(plan.command());
    this.name = plan.name();
    this.settings = settings;
    this.out = out;
    this.err = err;
    this.jitter = jitter;
  }

  /** Also tells this webhook each time the job dies and when supervision gives up. */
  public Supervisor notify(dev.cairn.alert.Webhook w) {
    this.webhook = w;
    return this;
  }

  private void alert(Path runDir, String what) {
    if (webhook != null) {
      Path dir = runDir == null ? null : runDir.getFileName();
      webhook.send(
          "Cairn: "
              + (dir == null ? "the supervised job (" + command.get(0) + ")" : "run " + dir)
              + ": "
              + what);
    }
  }

  /** The delay before restart {@code n} (1-based), before jitter. */
  static Duration delay(Settings s, int n) {
    long base = s.backoff().toMillis();
    long capped = s.maxBackoff().toMillis();
    long d = n >= 62 ? capped : base << Math.min(n - 1, 40);
    return Duration.ofMillis(Math.min(Math.max(d, 0), capped));
  }

  /** Runs the command until it succeeds, is stopped, or fails more than maxRestarts times. */
  public int run() throws IOException, InterruptedException {
    Path runFile = Files.createTempFile("cairn-supervise-", ".run");
    SignalHandler oldTerm = handle("TERM");
    SignalHandler oldInt = handle("INT");
    try {
      int restarts = 0;
      while (true) {
        ProcessGroup.Exit exit = runOnce(runFile, restarts);
        int code = exit.code();
        if (code == 0) {
          return 0;
        }
        String how = describe(code) + plan.where(exit.index());
        Path runDir = runDir(runFile);
        synchronized (lock) {
          if (stopSignal != null) {
            err.printf("%s: stopped by SIG%s; the command %s%n", name, stopSignal, how);
            err.flush();
            return code;
          }
        }
        if (restarts >= settings.maxRestarts()) {
          err.printf(
              "%s: the command %s; giving up after %d restart%s%n",
              name, how, restarts, restarts == 1 ? "" : "s");
          err.flush();
          record(
              runDir, EventType.WARNING, "supervisor gave up: the job " + how, exit, restarts, 0);
          alert(
              runDir,
              "the job "
                  + how
                  + "; "
                  + name
                  + " gave up after "
                  + restarts
                  + " restart"
                  + (restarts == 1 ? "" : "s"));
          return code;
        }
        restarts++;
        Duration d = delay(settings, restarts);
        long wait = d.toMillis() / 2 + (long) (jitter.nextDouble() * (d.toMillis() / 2.0 + 1));
        err.printf(
            Locale.ROOT,
            "%s: the command %s; restart %d of %d in %.1f s%n",
            name,
            how,
            restarts,
            settings.maxRestarts(),
            wait / 1000.0);
        err.flush();
        alert(
            runDir,
            String.format(
                Locale.ROOT,
                "the job %s; %s restarts it (%d of %d) in %.1f s",
                how,
                name,
                restarts,
                settings.maxRestarts(),
                wait / 1000.0));
        record(
            runDir,
            EventType.RESTART,
            "supervisor restarts the job, which " + how,
            exit,
            restarts,
            wait);
        synchronized (lock) {
          long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(wait);
          while (stopSignal == null && System.nanoTime() < until) {
            TimeUnit.NANOSECONDS.timedWait(lock, until - System.nanoTime());
          }
          if (stopSignal != null) {
            return code;
          }
        }
      }
    } finally {
      restore("TERM", oldTerm);
      restore("INT", oldInt);
      Files.deleteIfExists(runFile);
    }
  }

  /**
   * Catches a signal for forwarding. A signal the process was started ignoring (SIGINT of a
   * background job) cannot be caught; then it simply is not forwarded, as the shell intended.
   */
  private SignalHandler handle(String name) {
    try {
      return Signal.handle(new Signal(name), s -> stop(name));
    } catch (IllegalArgumentException e) {
      return null;
    }
  }

  private static void restore(String name, SignalHandler old) {
    if (old != null) {
      Signal.handle(new Signal(name), old);
    }
  }

  private ProcessGroup.Exit runOnce(Path runFile, int restarts)
      throws IOException, InterruptedException {
    List<Map<String, String>> envs = plan.environments(restarts);
    List<ProcessBuilder> builders = new ArrayList<>();
    for (int i = 0; i < envs.size(); i++) {
      ProcessBuilder pb = new ProcessBuilder(command);
      pb.environment().putAll(envs.get(i));
      if (i == 0) {
        // One run folder hears about restarts: the first process's (rank 0's, in a group).
        pb.environment().put(Cairn.SUPERVISOR_RUN_FILE, runFile.toString());
      }
      pb.environment().put("CAIRN_SUPERVISOR_RESTARTS", Integer.toString(restarts));
      builders.add(pb);
    }
    ProcessGroup g;
    synchronized (lock) {
      if (stopSignal != null) {
        return new ProcessGroup.Exit(-1, 128 + ("INT".equals(stopSignal) ? 2 : 15));
      }
      try {
        g = ProcessGroup.start(builders, plan.tags(), out, err);
      } catch (IOException e) {
        throw new IllegalArgumentException(
            "cannot start '" + command.get(0) + "': " + e.getMessage(), e);
      }
      group = g;
    }
    try {
      return g.await(plan.stopGrace());
    } finally {
      synchronized (lock) {
        group = null;
      }
    }
  }

  /** Signal handler: forward to the command, and do not restart it afterwards. */
  private void stop(String signal) {
    ProcessGroup g;
    synchronized (lock) {
      stopSignal = signal;
      g = group;
      lock.notifyAll();
    }
    if (g != null) {
      g.forward(signal, plan.signalGrace());
    }
  }

  private Path runDir(Path runFile) {
    if (settings.runDir() != null) {
      return settings.runDir();
    }
    try {
      String s = Files.readString(runFile, StandardCharsets.UTF_8).trim();
      return s.isEmpty() ? null : Path.of(s);
    } catch (IOException e) {
      return null;
    }
  }

  private void record(
      Path runDir, EventType type, String message, ProcessGroup.Exit exit, int restart, long ms) {
    if (runDir == null || !RunStatus.isRun(runDir)) {
      return;
    }
    int code = exit.code();
    ObjectNode f = JsonNodeFactory.instance.objectNode();
    f.put("exit_code", code);
    if (code > 128 && SIGNALS.containsKey(code - 128)) {
      f.put("signal", SIGNALS.get(code - 128));
    }
    if (!plan.where(exit.index()).isEmpty()) {
      f.put("rank", exit.index());
    }
    f.put("restart", restart);
    f.put("max_restarts", settings.maxRestarts());
    if (type == EventType.RESTART) {
      f.put("delay_seconds", ms / 1000.0);
    }
    try {
      Cairn.appendEvent(runDir, type, message, f);
    } catch (IOException | RuntimeException e) {
      err.printf("%s: could not record the restart in %s: %s%n", name, runDir, e);
    }
  }

  /** "exited with code 3" or "was killed by SIGKILL". */
  static String describe(int code) {
    if (code > 128 && SIGNALS.containsKey(code - 128)) {
      return "was killed by " + SIGNALS.get(code - 128) + " (exit code " + code + ")";
    }
    return "exited with code " + code;
  }
}
