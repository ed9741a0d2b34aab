package dev.cairn.cli.supervise;

import java.io.IOException;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The processes of one attempt, started together and stopped together: {@link #await} returns when
 * all have exited 0, or as soon as one fails, after stopping the others (SIGTERM to each and its
 * descendants, then SIGKILL once the grace period has passed without them exiting). Waiting is on
 * the processes' exits themselves, never on a guessed delay.
 */
final class ProcessGroup {
  /** Which process ended the attempt ({@code -1} when all succeeded) and its exit code. */
  record Exit(int index, int code) {}

  private final List<Process> processes;
  private final List<Thread> pumps;
  private final BlockingQueue<Integer> exited = new LinkedBlockingQueue<>();
  private volatile long killAt = Long.MAX_VALUE;

  private ProcessGroup(List<Process> processes, List<Thread> pumps) {
    this.processes = processes;
    this.pumps = pumps;
    for (int i = 0; i < processes.size(); i++) {
      int index = i;
      processes.get(i).onExit().thenRun(() -> exited.add(index));
    }
  }

  /**
   * Starts every builder. With tags, each process's output is copied to {@code out} and {@code err}
   * line by line behind its tag; without, it inherits ours. When one cannot start, those already
   * started are killed and the error is thrown.
   */
  static ProcessGroup start(
      List<ProcessBuilder> builders, List<String> tags, PrintWriter out, PrintWriter err)
      throws IOException {
    List<Process> started = new ArrayList<>();
    List<Thread> pumps = new ArrayList<>();
    try {
      for (int i = 0; i < builders.size(); i++) {
        ProcessBuilder pb = builders.get(i);
        if (tags == null) {
          pb.inheritIO();
        } else {
          pb.redirectInput(ProcessBuilder.Redirect.INHERIT);
        }
        Process p = pb.start();
        started.add(p);
        if (tags != null) {
          pumps.add(pump(new LinePrefixer(p.getInputStream(), out, tags.get(i))));
          pumps.add(pump(new LinePrefixer(p.getErrorStream(), err, tags.get(i))));
        }
      }
    } catch (IOException e) {
      started.forEach(Process::destroyForcibly);
      throw e;
    }
    return new ProcessGroup(started, pumps);
  }

  private static Thread pump(Runnable r) {
    Thread t = new Thread(r, "cairn-output");
    t.setDaemon(true);
    t.start();
    return t;
  }

  int size() {
    return processes.size();
  }

  /**
   * Waits for the attempt to end: every process exited 0, or one failed and the others were stopped
   * within {@code grace}. After {@link #forward} with a grace, processes still alive at its end are
   * killed.
   */
  Exit await(Duration grace) throws InterruptedException {
    int remaining = processes.size();
    while (remaining > 0) {
      Integer i = next();
      if (i == null) {
        killAll(); // the grace after a forwarded signal is over
        killAt = Long.MAX_VALUE;
        continue;
      }
      remaining--;
      int code = processes.get(i).exitValue();
      if (code != 0) {
        stopAll(grace);
        drainOutput(grace);
        return new Exit(i, code);
      }
    }
    drainOutput(grace);
    return new Exit(-1, 0);
  }

  /** The next process to exit, or null when the kill deadline of a forwarded signal has come. */
  private Integer next() throws InterruptedException {
    long at = killAt;
    if (at == Long.MAX_VALUE) {
      return exited.take();
    }
    return exited.poll(Math.max(0, at - System.nanoTime()), TimeUnit.NANOSECONDS);
  }

  /**
   * Sends {@code signal} (INT, TERM) to every live process and its descendants, as a terminal does
   * to its foreground processes on Ctrl-C: a shell that runs the real job as its child would
   * otherwise die alone and leave the job running. With a grace, what is still alive after it is
   * killed.
   */
  void forward(String signal, Duration grace) {
    if (grace != null) {
      killAt = System.nanoTime() + grace.toNanos();
    }
    List<String> cmd = new ArrayList<>(List.of("kill", "-" + signal));
    tree().forEach(h -> cmd.add(Long.toString(h.pid())));
    if (cmd.size() == 2) {
      return;
    }
    try {
      new ProcessBuilder(cmd).inheritIO().start();
    } catch (IOException e) {
      tree().forEach(ProcessHandle::destroy); // SIGTERM through the JDK when kill(1) is missing
    }
  }

  /** SIGTERM to every live process and its descendants; SIGKILL to what outlives the grace. */
  private void stopAll(Duration grace) throws InterruptedException {
    List<ProcessHandle> tree = tree();
    tree.forEach(ProcessHandle::destroy);
    long deadline = System.nanoTime() + grace.toNanos();
    for (ProcessHandle h : tree) {
      try {
        h.onExit().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (TimeoutException | ExecutionException e) {
        break; // the grace is over: kill the rest
      }
    }
    tree.forEach(ProcessHandle::destroyForcibly);
    killAll();
    for (Process p : processes) {
      p.waitFor(); // SIGKILL cannot be ignored
    }
  }

  private void killAll() {
    for (Process p : processes) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
  }

  /** The live processes and all their descendants, children first in each subtree's order. */
  private List<ProcessHandle> tree() {
    List<ProcessHandle> out = new ArrayList<>();
    for (Process p : processes) {
      if (p.isAlive()) {
        out.add(p.toHandle());
        p.descendants().forEach(out::add);
      }
    }
    return out;
  }

  /**
   * Lets the output copiers finish: they end when the last holder of each pipe exits. A descendant
   * that escaped into the background may hold one open, so the wait is bounded.
   */
  private void drainOutput(Duration grace) throws InterruptedException {
    long deadline = System.nanoTime() + grace.toNanos();
    for (Thread t : pumps) {
      TimeUnit.NANOSECONDS.timedJoin(t, Math.max(1, deadline - System.nanoTime()));
    }
  }
}
