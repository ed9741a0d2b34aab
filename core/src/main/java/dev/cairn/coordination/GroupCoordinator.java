package dev.cairn.coordination;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

/**
 * What every implementation shares: who this rank is, the numbering of calls, the checks on
 * arguments, and the rule that a failed call breaks the coordinator for good.
 */
abstract class GroupCoordinator implements Coordinator {
  private final RankEnvironment env;
  private long seq;
  private CoordinationException broken;
  private boolean closed;

  GroupCoordinator(RankEnvironment env) {
    this.env = env;
  }

  /** Takes part in one round; returns what the round gives every rank. */
  abstract List<byte[]> exchange(Call call) throws IOException;

  /** Releases what the implementation holds; called once. */
  abstract void release();

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
  public synchronized void barrier(String name, Duration timeout) throws IOException {
    run(Op.BARRIER, name, null, timeout);
  }

  @Override
  public synchronized List<byte[]> allGather(String name, byte[] payload, Duration timeout)
      throws IOException {
    return run(Op.ALL_GATHER, name, payload, timeout);
  }

  @Override
  public synchronized byte[] broadcast(String name, byte[] payload, Duration timeout)
      throws IOException {
    return run(Op.BROADCAST, name, payload, timeout).get(0);
  }

  private List<byte[]> run(Op op, String name, byte[] payload, Duration timeout)
      throws IOException {
    Call call = Call.of(seq, op, name, payload, timeout, rank());
    if (closed) {
      throw new IllegalStateException(call.describe() + ": the coordinator is closed");
    }
    if (broken != null) {
      throw new CoordinationException(
          call.describe() + " cannot run: the group failed earlier: " + broken.getMessage(),
          broken.missingRanks(),
          broken);
    }
    seq++;
    try {
      return exchange(call);
    } catch (CoordinationException e) {
      broken = e;
      throw e;
    } catch (IOException e) {
      broken = new CoordinationException(call.describe() + ": " + e.getMessage(), List.of(), e);
      throw e;
    }
  }

  @Override
  public final void close() {
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
    }
    release();
  }
}
