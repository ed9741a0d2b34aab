package dev.cairn.hadoop;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cairn.checkpoint.CheckpointInfo;
import dev.cairn.checkpoint.CheckpointStore;
import dev.cairn.checkpoint.LoadedCheckpoint;
import dev.cairn.store.Storage;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * A writer in another JVM killed with SIGKILL at random instants while it saves to a remote
 * backend: what is loaded afterwards is the newest checkpoint it reported saved or the one it was
 * saving, byte-exact, never a partial one; and a restarted job saves on from there.
 */
abstract class RemoteKillContract {
  /** The backend the child saves to. */
  protected abstract RemoteBackend backend();

  @Test
  void aWriterKilledAtRandomInstantsLeavesThePreviousOrTheNewCheckpoint() throws Exception {
    killAndCheck(Integer.getInteger("cairn.kills", 5), Long.getLong("cairn.kill.seed", 14));
  }

  /** The long run ({@code mvn -Pmedium}): many more kills. */
  @Test
  @Tag("medium")
  void manyKills() throws Exception {
    killAndCheck(40, 41);
  }

  private void killAndCheck(int kills, long seed) throws Exception {
    SplittableRandom random = new SplittableRandom(seed);
    URI root = backend().freshRoot("killed");
    Storage storage = backend().storage(root);
    long next = 1;
    int inside = 0;
    int afterCommit = 0;
    for (int k = 0; k < kills; k++) {
      long t0 = System.nanoTime();
      Child child = Child.start(root, next, seed, backend().settings(), k);
      Child.Line promised = child.awaitLine("saved " + next);
      // Where to kill: after 0-3 more lines (inside or between saves), then a random part of one
      // save's duration. The random numbers choose the instant; nothing waits on them.
      int lines = random.nextInt(4);
      for (int i = 0; i < lines; i++) {
        child.awaitAnyLine();
      }
      long saveNanos = Math.max(1, promised.nanos() - child.startedSaving(next));
      LockSupport.parkNanos(random.nextLong(saveNanos + saveNanos / 4));
      String last = child.kill();
      long t1 = System.nanoTime();
      long saved = child.lastSaved();
      if (last.startsWith("saving")) {
        inside++;
      }
      try (CheckpointStore store =
          CheckpointStore.builder(storage).staleClaimAfter(Duration.ZERO).events(e -> {}).open()) {
        long latest;
        try (LoadedCheckpoint c = store.loadLatestValid().orElseThrow()) {
          latest = c.step();
          assertThat(latest)
              .as(
                  "kill %d after '%s': the newest promised (%d) or the one in flight",
                  k, last, saved)
              .isBetween(saved, saved + 1);
          RemoteCheckpointStoreContract.assertHolds(c, latest, seed);
        }
        if (latest > saved) {
          afterCommit++;
        }
        List<Long> steps = new ArrayList<>();
        for (CheckpointInfo info : store.list()) {
          assertThat(info.committed()).as("step %d after kill %d", info.step(), k).isTrue();
          steps.add(info.step());
        }
        assertThat(steps).as("every step saved, none partial").hasSize((int) latest);
        assertThat(storage.list(""))
            .as("a restarted job removes what the killed one left behind")
            .allMatch(n -> n.matches("step-[0-9]+"));
        store.save(RemoteCheckpointStoreContract.checkpoint(latest + 1, seed));
        next = latest + 2;
      }
      System.out.printf(
          "kill %d: child up and saved in %d ms, one save %d ms, check %d ms%n",
          k,
          (promised.nanos() - t0) / 1_000_000,
          saveNanos / 1_000_000,
          (System.nanoTime() - t1) / 1_000_000);
    }
    System.out.printf(
        "%s: %d kills, %d inside a save, %d after a commit but before its report%n",
        getClass().getSimpleName(), kills, inside, afterCommit);
  }

  /** The saving child JVM and the lines it printed, each with when it arrived. */
  static final class Child {
    record Line(String text, long nanos) {}

    private final Process process;
    private final BlockingQueue<Line> lines = new LinkedBlockingQueue<>();
    private final List<Line> seen = new ArrayList<>();
    private final Thread reader;

    private Child(Process process) {
      this.process = process;
      this.reader =
          new Thread(
              () -> {
                try (BufferedReader r =
                    new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                  for (String l = r.readLine(); l != null; l = r.readLine()) {
                    if (l.startsWith("sav")) {
                      lines.add(new Line(l, System.nanoTime()));
                    }
                  }
                } catch (IOException e) {
                  // The child was killed mid-line: what arrived before is all there is.
                }
              },
              "kill-test-child-stdout");
      reader.setDaemon(true);
      reader.start();
    }

    static Child start(URI root, long first, long seed, Map<String, String> settings, int k)
        throws IOException {
      List<String> cmd = new ArrayList<>();
      cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      cmd.add("-cp");
      cmd.add(System.getProperty("java.class.path"));
      cmd.add("-Xmx512m");
      cmd.add(SavingChild.class.getName());
      cmd.add(root.toString());
      cmd.add(Long.toString(first));
      cmd.add(Long.toString(seed));
      settings.forEach((key, value) -> cmd.add(key + "=" + value));
      Path log = Files.createDirectories(Path.of("target", "kill-children"));
      return new Child(
          new ProcessBuilder(cmd)
              .redirectError(
                  log.resolve("child-" + ProcessHandle.current().pid() + "-" + k + ".log").toFile())
              .start());
    }

    /** Waits for the next line; fails when the child exits first. */
    Line awaitAnyLine() throws InterruptedException {
      while (true) {
        Line l = lines.poll(20, TimeUnit.MILLISECONDS);
        if (l != null) {
          seen.add(l);
          return l;
        }
        if (!process.isAlive() && lines.isEmpty()) {
          reader.join();
          if (lines.isEmpty()) {
            throw new AssertionError(
                "the saving child exited with "
                    + process.exitValue()
                    + " after "
                    + seen
                    + "; see target/kill-children");
          }
        }
      }
    }

    Line awaitLine(String text) throws InterruptedException {
      for (Line l = awaitAnyLine(); ; l = awaitAnyLine()) {
        if (l.text().equals(text)) {
          return l;
        }
      }
    }

    /** When the child said it started saving {@code step}. */
    long startedSaving(long step) {
      for (Line l : seen) {
        if (l.text().equals("saving " + step)) {
          return l.nanos();
        }
      }
      throw new IllegalStateException("no 'saving " + step + "' in " + seen);
    }

    /** SIGKILL, then every line it printed before; returns the last. */
    String kill() throws InterruptedException {
      process.destroyForcibly().waitFor();
      reader.join();
      lines.drainTo(seen);
      return seen.get(seen.size() - 1).text();
    }

    /** The newest step the child reported saved. */
    long lastSaved() {
      long s = 0;
      for (Line l : seen) {
        if (l.text().startsWith("saved ")) {
          s = Math.max(s, Long.parseLong(l.text().substring(6)));
        }
      }
      return s;
    }
  }
}
