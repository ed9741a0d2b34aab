package dev.cairn.coordination;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What every implementation shares: who this rank is, the numbering of calls, the checks on
 * arguments, and the rule that a failed call breaks the coordinator for good. Calls hold their own
 * lock, not the object's, so that {@link #close()} from another thread (a shutdown hook, say) ends
 * a call in progress instead of waiting for it.
 */
abstract class GroupCoordinator implements Coordinator {
  private final RankEnvironment env;
  private final Object calls = new Object(); // one call at a time; close() does not wait for it
  private final AtomicBoolean closed = new AtomicBoolean();
  private long seq; // guarded by calls
  private CoordinationException broken; // guarded by calls

  GroupCoordinator(RankEnvironment env) {
    this.env = env;
  }

  /** Takes part in one round; returns what the round gives every rank. */
  abstract List<byte[]> exchange(Call call) throws IOException;

  /**
   * Releases what the implementation holds; called once, perhaps while another thread is in {@link
   * #exchange}, which must then end promptly.
   */
  abstract void release();

  boolean isClosed() {
    return closed.get();
  }

  @Override
  public int rank() {
    return env.rank();
  }

  @Override
  public int worldSize() {
    return env.worldSize();
  }

  @Override
  public int localRank() {
    return env.localRank();
  }

  @Override
  public int attempt() {
    return env.attempt();
  }

  RankEnvironment environment() {
    return env;
  }

  @Override
  public void barrier(String name, Duration timeout) throws IOException {
    run(Op.BARRIER, name, null, timeout);
  }

  @Override
  public List<byte[]> allGather(String name, byte[] payload, Duration timeout) throws IOException {
    return run(Op.ALL_GATHER, name, payload, timeout);
  }

  @Override
  public byte[] broadcast(String name, byte[] payload, Duration timeout) throws IOException {
    return run(Op.BROADCAST, name, payload, timeout).get(0);
  }

  private List<byte[]> run(Op op, String name, byte[] payload, Duration timeout)
      throws IOException {
    Call call = Call.of(0, op, name, payload, timeout, rank());
    synchronized (calls) {
      if (closed.get()) {
        throw new IllegalStateException(call.describe() + ": the coordinator is closed");
      }
      if (broken != null) {
        throw new CoordinationException(
            call.describe() + " cannot run: the group failed earlier: " + broken.getMessage(),
            broken.missingRanks(),
            broken);
      }
      Call numbered = new Call(seq++, op, call.name(), call.payload(), timeout);
      try {
        return exchange(numbered);
      } catch (CoordinationException e) {
        broken = e;
        throw e;
      } catch (IOException e) {
        broken = new CoordinationException(call.describe() + ": " + e.getMessage(), List.of(), e);
        throw e;
      }
    }
  }

  @Override
  public final void close() {
    if (closed.compareAndSet(false, true)) {
      release();
    }
  }
}
