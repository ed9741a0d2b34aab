package dev.cairn.web;

import dev.cairn.run.RunStatus;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.function.BooleanSupplier;

/** Starts {@link ToyJob} in a child JVM and waits for things to happen. */
final class Jobs {
  private Jobs() {}

  static Process start(Path runs, String name, long steps, long millisPerStep) throws IOException {
    List<String> cmd =
        List.of(
            Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-cp",
            System.getProperty("java.class.path"),
            ToyJob.class.getName(),
            runs.toString(),
            name,
            String.valueOf(steps),
            String.valueOf(millisPerStep));
    return new ProcessBuilder(cmd)
        .redirectErrorStream(true)
        .redirectOutput(runs.resolve(name + ".out").toFile())
        .start();
  }

  /** Waits (polling, up to the limit) until the condition holds; fails the test otherwise. */
  static void await(String what, long timeoutMillis, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeoutMillis * 1_000_000L;
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out waiting for " + what);
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for " + what);
      }
    }
  }

  static void awaitStep(Path runDir, long step) {
    await(
        "run " + runDir.getFileName() + " at step " + step,
        60_000,
        () -> {
          try {
            RunStatus s = RunStatus.of(runDir, Clock.systemUTC());
            return s.status().equals("running") && s.step() >= step;
          } catch (IOException | RuntimeException e) {
            return false;
          }
        });
  }
}
