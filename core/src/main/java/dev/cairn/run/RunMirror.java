package dev.cairn.run;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.events.EventType;
import dev.cairn.events.Events;
import dev.cairn.store.Storage;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Keeps a copy of a run folder on remote storage (HDFS, S3 through S3A, any {@link Storage}) so
 * that the run's logs and status outlive the machine, for jobs on preemptible VMs. The training
 * process writes the run folder on a local disk as always; a daemon thread pushes what changed
 * every {@code every} and when asked ({@link #pushSoon}, after a checkpoint commits). Another
 * machine reads the copy with {@link #pull}, and a writer resuming the run on a fresh machine pulls
 * it before it starts.
 *
 * <h2>Remote layout</h2>
 *
 * The remote storage is rooted at the run folder; it is written by the run's single writer only,
 * never renames (S3 has no rename) and never appends (S3 cannot), and a killed writer may leave a
 * half-written object. So every object is immutable once written and its name carries its length:
 *
 * <ul>
 *   <li><b>Append-only files</b> ({@code *.jsonl}, {@code training.log}, everything under {@code
 *       tb/}): segments {@code <file>.parts/<offset %016d>-<length %016d>}, each holding bytes
 *       {@code [offset, offset+length)} of the local file. A pass pushes what the local file holds
 *       past the last segment; for {@code *.jsonl} and {@code training.log} only up to the last
 *       {@code '\n'}, so a reader never sees half a record. When a file has more than 64 segments
 *       the writer writes one segment {@code 0-<end>} and then deletes those it covers.
 *   <li><b>Whole files</b> (run.json, progress.json, results.json, plots/*, anything else):
 *       versions {@code <file>.versions/<seq %016d>-<length %016d>}, a new one only when the local
 *       content changed; the newest 2 are kept. A whole file the writer pushed and the run deleted
 *       locally (pruned plots) is deleted remotely.
 *   <li><b>Never mirrored</b>: {@code checkpoints/} (the checkpoint store writes its remote
 *       checkpoints itself), {@code control/}, locks ({@code *.lock}), hidden names (atomic-write
 *       temporaries {@code .NAME.tmp-*}) and any name holding {@code .tmp}.
 * </ul>
 *
 * A reader uses an object only when its size equals the length in its name. For a log it follows
 * the chain from its local length: at each position the complete segment that covers it and reaches
 * furthest, until none does; a segment deleted by compaction between listing and reading makes it
 * list again once. For a whole file it takes the complete version with the highest sequence number.
 *
 * <p>A whole file is read through one open channel, so a file replaced atomically (as the run
 * replaces its files, {@code AtomicFile}) is pushed as the old or the new content; one rewritten in
 * place may be pushed half-written, and the next pass pushes it again. Compaction re-uploads the
 * log from byte 0 once every 64 pushes of it, which keeps a reader's listing short at the cost of
 * that upload.
 *
 * <p>A new writer on the same remote (a restarted process) learns, file by file on its first pass,
 * where the remote chain ends and which version number is next, and deletes the partial objects its
 * predecessor left. It expects its local files to continue the remote ones: a log shorter than its
 * remote chain is reported, not pushed, until the run is pulled.
 *
 * <h2>Failures</h2>
 *
 * The mirror never throws into, nor blocks, the training thread: a failing pass becomes one {@link
 * EventType#MONITORING_FAILED} event per distinct error (not one per pass), and the next pass
 * retries; a pass that succeeds resets that. {@link #close(Duration)} gives the last pass a time
 * limit, so a hung network cannot hold the JVM's exit.
 */
public final class RunMirror implements AutoCloseable {
  private final Path localRunDir;
  private final Storage remote;
  private final Duration every;
  private final Events events;
  private final MirrorPush push;
  private final ReentrantLock passLock = new ReentrantLock();
  private final Semaphore wake = new Semaphore(0);
  private final AtomicBoolean requested = new AtomicBoolean();
  private final Object passCount = new Object();
  private final Thread thread;
  private volatile boolean closed;
  private volatile boolean abandoned;
  private long passes; // guarded by passCount
  private String lastFailure; // guarded by passLock

  private RunMirror(Path localRunDir, Storage remote, Duration every, Events events) {
    this.localRunDir = localRunDir;
    this.remote = remote;
    this.every = every;
    this.events = events;
    this.push = new MirrorPush(localRunDir, remote);
    this.thread = new Thread(this::loop, "cairn-mirror");
    thread.setDaemon(true);
  }

  /**
   * Starts a daemon thread ("cairn-mirror") that pushes {@code localRunDir} to {@code remote} every
   * {@code every} and soon after {@link #pushSoon}. Returns at once, without touching the remote
   * (the network may be hung): the first pass runs on the thread.
   *
   * @param remote storage rooted at the run folder's remote copy (names relative to it)
   * @param events where failures are reported
   */
  public static RunMirror start(Path localRunDir, Storage remote, Duration every, Events events) {
    Objects.requireNonNull(localRunDir, "localRunDir");
    Objects.requireNonNull(remote, "remote");
    Objects.requireNonNull(events, "events");
    if (every == null || every.isNegative() || every.isZero()) {
      throw new IllegalArgumentException(
          "the mirror's interval must be positive, e.g. Duration.ofSeconds(30); got " + every);
    }
    RunMirror m = new RunMirror(localRunDir.toAbsolutePath(), remote, every, events);
    m.thread.start();
    return m;
  }

  /**
   * Asks for a push pass as soon as possible; requests made while one is pending are one pass.
   * Never blocks and never throws.
   */
  public void pushSoon() {
    if (!closed && requested.compareAndSet(false, true)) {
      wake.release();
    }
  }

  /**
   * Runs one push pass on the caller's thread, after any pass in progress. After return, the remote
   * holds every mirrored file as the pass found it (logs up to their last whole line).
   *
   * @throws IOException the first file that failed (naming its remote location), others suppressed
   */
  public void pushNow() throws IOException {
    passLock.lock();
    try {
      push.pass();
      lastFailure = null;
    } finally {
      passLock.unlock();
    }
  }

  /**
   * Stops the thread after a last push pass, waiting for it at most {@code limit}; when the pass
   * has not finished by then it is interrupted and left to die (a daemon thread), and an event says
   * so. Failures become events, never exceptions. Idempotent.
   */
  public void close(Duration limit) {
    Objects.requireNonNull(limit, "limit");
    closed = true;
    wake.release();
    if (Thread.currentThread() == thread || abandoned) {
      return;
    }
    try {
      thread.join(Math.max(1, limit.toMillis()));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (thread.isAlive()) {
      abandoned = true;
      thread.interrupt();
      events.emit(
          EventType.MONITORING_FAILED,
          -1,
          "the last push of the run to "
              + remote.location("")
              + " did not finish within "
              + limit
              + "; the remote copy may lack the newest logs",
          JsonNodeFactory.instance.objectNode().put("remote", remote.location("")));
    }
  }

  /** {@code close(Duration.ofSeconds(30))}. */
  @Override
  public void close() {
    close(Duration.ofSeconds(30));
  }

  /**
   * Brings {@code localRunDir} (created when missing) up to date from {@code remote}: each log gets
   * only the whole segments past its local length (a local log longer than the remote is newer and
   * left alone), each whole file is replaced atomically by the newest complete version when it
   * differs. Checkpoints are not pulled.
   *
   * @throws IOException when the remote or the local disk fails; what was pulled stays
   */
  public static void pull(Storage remote, Path localRunDir) throws IOException {
    MirrorPull.pull(remote, localRunDir);
  }

  /** True when {@code remote} holds a run: its run.json has a complete version. */
  public static boolean exists(Storage remote) throws IOException {
    return MirrorLayout.newestVersion(MirrorLayout.list(remote, "run.json" + MirrorLayout.VERSIONS))
        != null;
  }

  private void loop() {
    try {
      while (true) {
        boolean last = closed;
        backgroundPass();
        if (last) {
          return;
        }
        if (wake.tryAcquire(every.toNanos(), TimeUnit.NANOSECONDS)) {
          // Woken by pushSoon or close: requests made until now are served by the next pass.
          wake.drainPermits();
        }
        requested.set(false);
      }
    } catch (InterruptedException e) {
      // close() gave up waiting for the last pass: nothing is left to do.
    }
  }

  private void backgroundPass() throws InterruptedException {
    passLock.lockInterruptibly();
    try {
      push.pass();
      lastFailure = null;
    } catch (IOException | RuntimeException e) {
      if (abandoned) {
        // close() gave up on this pass and interrupted it: what failed is the interrupt.
        throw new InterruptedException("stopped by close()");
      }
      report(e);
    } finally {
      passLock.unlock();
      synchronized (passCount) {
        passes++;
        passCount.notifyAll();
      }
    }
  }

  private void report(Exception e) {
    Throwable cause = e instanceof MirrorPush.Failure && e.getCause() != null ? e.getCause() : e;
    String error = String.valueOf(cause);
    if (error.equals(lastFailure)) {
      return;
    }
    lastFailure = error;
    String where =
        e instanceof MirrorPush.Failure f ? f.location() : remote.location("") + " (" + e + ")";
    ObjectNode fields =
        JsonNodeFactory.instance.objectNode().put("remote", where).put("error", error);
    String message =
        "could not mirror "
            + localRunDir.getFileName()
            + " to "
            + where
            + ": "
            + cause.getMessage()
            + "; the run goes on; the mirror retries";
    // One line: Hadoop's messages often carry a stack of causes over several.
    events.emit(EventType.MONITORING_FAILED, -1, message.replaceAll("\\s*\\R\\s*", " "), fields);
  }

  /** Waits until {@code n} background passes have finished; for tests. */
  boolean awaitPasses(long n, Duration limit) throws InterruptedException {
    long deadline = System.nanoTime() + limit.toNanos();
    synchronized (passCount) {
      while (passes < n) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        TimeUnit.NANOSECONDS.timedWait(passCount, left);
      }
      return true;
    }
  }

  /** Background passes finished so far; for tests. */
  long passes() {
    synchronized (passCount) {
      return passes;
    }
  }
}
