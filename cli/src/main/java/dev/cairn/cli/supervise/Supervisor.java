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
 */
public final class Supervisor {
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

  private final List<String> command;
  private final Settings settings;
  private final PrintWriter err;
  private final Random jitter;
  private final Object lock = new Object();
  private Process child;
  private String stopSignal;
  private dev.cairn.alert.Webhook webhook;

  public Supervisor(List<String> command, Settings settings, PrintWriter err, Random jitter) {
    if (command.isEmpty()) {
      throw new IllegalArgumentException("give the command to supervise after --");
    }
    this.command = List.copyOf(command);
    this.settings = settings;
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
      Path name = runDir == null ? null : runDir.getFileName();
      webhook.send(
          "Cairn: "
              + (name == null ? "the supervised job (" + command.get(0) + ")" : "run " + name)
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
        int code = runOnce(runFile, restarts);
        if (code == 0) {
          return 0;
        }
        String how = describe(code);
        Path runDir = runDir(runFile);
        synchronized (lock) {
          if (stopSignal != null) {
            err.printf("cairn supervise: stopped by SIG%s; the command %s%n", stopSignal, how);
            err.flush();
            return code;
          }
        }
        if (restarts >= settings.maxRestarts()) {
          err.printf(
              "cairn supervise: the command %s; giving up after %d restart%s%n",
              how, restarts, restarts == 1 ? "" : "s");
          err.flush();
          record(
              runDir, EventType.WARNING, "supervisor gave up: the job " + how, code, restarts, 0);
          alert(
              runDir,
              "the job "
                  + how
                  + "; cairn supervise gave up after "
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
            "cairn supervise: the command %s; restart %d of %d in %.1f s%n",
            how,
            restarts,
            settings.maxRestarts(),
            wait / 1000.0);
        err.flush();
        alert(
            runDir,
            String.format(
                Locale.ROOT,
                "the job %s; cairn supervise restarts it (%d of %d) in %.1f s",
                how,
                restarts,
                settings.maxRestarts(),
                wait / 1000.0));
        record(
            runDir,
            EventType.RESTART,
            "supervisor restarts the job, which " + how,
            code,
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

  private int runOnce(Path runFile, int restarts) throws IOException, InterruptedException {
    ProcessBuilder pb = new ProcessBuilder(command).inheritIO();
    pb.environment().put(Cairn.SUPERVISOR_RUN_FILE, runFile.toString());
    pb.environment().put("CAIRN_SUPERVISOR_RESTARTS", Integer.toString(restarts));
    Process p;
    synchronized (lock) {
      if (stopSignal != null) {
        return 128 + ("INT".equals(stopSignal) ? 2 : 15);
      }
      try {
        p = pb.start();
      } catch (IOException e) {
        throw new IllegalArgumentException(
            "cannot start '" + command.get(0) + "': " + e.getMessage(), e);
      }
      child = p;
    }
    try {
      return p.waitFor();
    } finally {
      synchronized (lock) {
        child = null;
      }
    }
  }

  /** Signal handler: forward to the command, and do not restart it afterwards. */
  private void stop(String signal) {
    Process p;
    synchronized (lock) {
      stopSignal = signal;
      p = child;
      lock.notifyAll();
    }
    if (p != null && p.isAlive()) {
      try {
        new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).inheritIO().start();
      } catch (IOException e) {
        p.destroy(); // SIGTERM through the JDK when kill(1) is missing
      }
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

  private void record(Path runDir, EventType type, String message, int code, int restart, long ms) {
    if (runDir == null || !RunStatus.isRun(runDir)) {
      return;
    }
    ObjectNode f = JsonNodeFactory.instance.objectNode();
    f.put("exit_code", code);
    if (code > 128 && SIGNALS.containsKey(code - 128)) {
      f.put("signal", SIGNALS.get(code - 128));
    }
    f.put("restart", restart);
    f.put("max_restarts", settings.maxRestarts());
    if (type == EventType.RESTART) {
      f.put("delay_seconds", ms / 1000.0);
    }
    try {
      Cairn.appendEvent(runDir, type, message, f);
    } catch (IOException | RuntimeException e) {
      err.printf("cairn supervise: could not record the restart in %s: %s%n", runDir, e);
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
