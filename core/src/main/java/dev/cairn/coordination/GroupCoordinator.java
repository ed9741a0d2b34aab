package dev.cairn.coordination;

import dev.cairn.checkpoint.Names;
import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * What every implementation shares: who this rank is, its channels and the numbering of calls on
 * each, the checks on arguments, and the rule that a failed call breaks the whole group for good.
 * Calls hold their channel's lock, not the object's, so that {@link #close()} from another thread
 * (a shutdown hook, say) ends a call in progress instead of waiting for it.
 */
abstract class GroupCoordinator implements Coordinator {
  /** The most channels a group may open: each holds a sequence on every rank and at rank 0. */
  static final int MAX_CHANNELS = 16;

  private final RankEnvironment env;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Map<String, Channel> channels = new HashMap<>(); // guarded by itself
  private final Channel main;
  private volatile CoordinationException broken;

  GroupCoordinator(RankEnvironment env) {
    this.env = env;
    this.main = new Channel(Call.MAIN);
    channels.put(Call.MAIN, main);
  }

  /** Takes part in one round; returns what the round gives every rank. */
  abstract List<byte[]> exchange(Call call) throws IOException;

  /**
   * Releases what the implementation holds; called once, perhaps while other threads are in {@link
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
    main.run(Op.BARRIER, name, null, timeout);
  }

  @Override
  public List<byte[]> allGather(String name, byte[] payload, Duration timeout) throws IOException {
    return main.run(Op.ALL_GATHER, name, payload, timeout);
  }

  @Override
  public byte[] broadcast(String name, byte[] payload, Duration timeout) throws IOException {
    return main.run(Op.BROADCAST, name, payload, timeout).get(0);
  }

  @Override
  public Coordinator channel(String name) {
    Names.requireSafe(name, "channel name");
    synchronized (channels) {
      Channel c = channels.get(name);
      if (c == null) {
        if (channels.size() >= MAX_CHANNELS) {
          throw new IllegalStateException(
              "channel '" + name + "': a group has at most " + MAX_CHANNELS + " channels");
        }
        c = new Channel(name);
        channels.put(name, c);
      }
      return c;
    }
  }

  @Override
  public final void close() {
    if (closed.compareAndSet(false, true)) {
      release();
    }
  }

  /**
   * One sequence of calls. Calls on a channel are made one at a time (a second thread waits for the
   * first); calls on different channels run side by side. Closing a channel does nothing: the group
   * is left by closing the coordinator.
   */
  private final class Channel implements Coordinator {
    private final String name;
    private long seq; // guarded by this

    Channel(String name) {
      this.name = name;
    }

    synchronized List<byte[]> run(Op op, String callName, byte[] payload, Duration timeout)
        throws IOException {
      Call call = Call.of(name, seq, op, callName, payload, timeout, rank());
      if (closed.get()) {
        throw new IllegalStateException(call.describe() + ": the coordinator is closed");
      }
      CoordinationException earlier = broken;
      if (earlier != null) {
        throw new CoordinationException(
            call.describe() + " cannot run: the group failed earlier: " + earlier.getMessage(),
            earlier.missingRanks(),
            earlier);
      }
      seq++;
      try {
        return exchange(call);
      } catch (CoordinationException e) {
        breakWith(e);
        throw e;
      } catch (IOException e) {
        breakWith(new CoordinationException(call.describe() + ": " + e.getMessage(), List.of(), e));
        throw e;
      }
    }

    @Override
    public int rank() {
      return GroupCoordinator.this.rank();
    }

    @Override
    public int worldSize() {
      return GroupCoordinator.this.worldSize();
    }

    @Override
    public int localRank() {
      return GroupCoordinator.this.localRank();
    }

    @Override
    public int attempt() {
      return GroupCoordinator.this.attempt();
    }

    @Override
    public void barrier(String callName, Duration timeout) throws IOException {
      run(Op.BARRIER, callName, null, timeout);
    }

    @Override
    public List<byte[]> allGather(String callName, byte[] payload, Duration timeout)
        throws IOException {
      return run(Op.ALL_GATHER, callName, payload, timeout);
    }

    @Override
    public byte[] broadcast(String callName, byte[] payload, Duration timeout) throws IOException {
      return run(Op.BROADCAST, callName, payload, timeout).get(0);
    }

    @Override
    public Coordinator channel(String other) {
      return GroupCoordinator.this.channel(other);
    }

    @Override
    public void close() {
      // the group is left by closing the coordinator
    }
  }

  private synchronized void breakWith(CoordinationException e) {
    if (broken == null) {
      broken = e;
    }
  }
}
