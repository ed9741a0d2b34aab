package dev.cairn.coordination;

import dev.cairn.concurrent.DaemonThreads;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * The rendezvous service rank 0 hosts on its own port: it admits the other ranks, matches their
 * calls into rounds, answers each round when every rank has arrived, and fails it (on every rank
 * waiting) at the earliest deadline or when a rank is lost. One connection and one thread per rank;
 * at most {@code world + 3} connections at a time, the surplus closed on accept.
 *
 * <p>State changes happen under one lock; answers are written outside it, peers before rank 0's own
 * caller, so that rank 0 returning from a call (and perhaps closing) never overtakes the answers to
 * the others.
 */
final class Rendezvous implements AutoCloseable {
  private final RankEnvironment env;
  private final ServerSocket server;
  private final ScheduledThreadPoolExecutor timer;
  private final Semaphore slots;
  private final Object lock = new Object();

  // Guarded by lock.
  private final Map<Integer, PeerConnection> peers = new HashMap<>();
  private final Set<Integer> left = new TreeSet<>();
  private final Map<String, long[]> nextSeq = new HashMap<>(); // channel → next call, by rank
  private final Map<Round.Key, Round> rounds = new HashMap<>();
  private CoordinationException failure;
  private boolean closed;

  private Rendezvous(RankEnvironment env, ServerSocket server) {
    this.env = env;
    this.server = server;
    this.slots = new Semaphore(env.worldSize() + 3);
    this.timer = new ScheduledThreadPoolExecutor(1, DaemonThreads.named("cairn-coord-timer"));
    timer.setRemoveOnCancelPolicy(true);
  }

  /** Listens on the rendezvous port and starts admitting ranks. */
  static Rendezvous start(RankEnvironment env) throws IOException {
    ServerSocket s = new ServerSocket();
    try {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress(env.bindHost(), env.port()), 64);
    } catch (IOException e) {
      s.close();
      throw new CoordinationException(
          "rank 0 cannot listen on "
              + env.bindHost()
              + ":"
              + env.port()
              + " for the rendezvous ("
              + e.getMessage()
              + "): set CAIRN_COORD_PORT to a free port, or CAIRN_COORD_BIND=0.0.0.0 when"
              + " MASTER_ADDR is not an address of this host",
          List.of(),
          e);
    }
    Rendezvous r = new Rendezvous(env, s);
    Thread acceptor = DaemonThreads.named("cairn-coord-accept").newThread(r::acceptLoop);
    acceptor.start();
    return r;
  }

  int port() {
    return server.getLocalPort();
  }

  RankEnvironment environment() {
    return env;
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      Socket s;
      try {
        s = server.accept();
      } catch (IOException e) {
        // Out of file descriptors, say: try again shortly, without spinning.
        if (server.isClosed() || !pauseAfterFailedAccept()) {
          return;
        }
        continue;
      }
      if (!slots.tryAcquire()) {
        closeQuietly(s); // more connections than ranks: someone else's, or a flood
        continue;
      }
      PeerConnection c = new PeerConnection(this, s);
      Thread t = DaemonThreads.named("cairn-coord-peer").newThread(c);
      t.start();
    }
  }

  /** False when interrupted. */
  private static boolean pauseAfterFailedAccept() {
    try {
      TimeUnit.MILLISECONDS.sleep(100);
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  void released() {
    slots.release();
  }

  /** Null when the hello is accepted (the connection is then rank's), else the refusal. */
  String admit(Handshake.Hello hello, PeerConnection c) {
    String refusal = hello.refusal(env);
    if (refusal != null) {
      return refusal;
    }
    int rank = hello.rank();
    synchronized (lock) {
      if (closed || failure != null) {
        return "rank 0 refused rank "
            + rank
            + ": the group has already failed: "
            + (failure == null ? "rank 0 closed its coordinator" : failure.getMessage());
      }
      if (peers.containsKey(rank) || left.contains(rank)) {
        return "rank 0 refused rank "
            + rank
            + ": another process already joined as rank "
            + rank
            + " (check RANK of every process)";
      }
      peers.put(rank, c);
      return null;
    }
  }

  /** A rank's call arrives; the waiter hears the outcome (perhaps before this returns). */
  void arrive(int rank, Call call, Round.Waiter waiter) {
    List<Runnable> actions = new ArrayList<>();
    synchronized (lock) {
      arriveLocked(rank, call, waiter, actions);
      lock.notifyAll();
    }
    actions.forEach(Runnable::run);
  }

  private void arriveLocked(int rank, Call call, Round.Waiter waiter, List<Runnable> actions) {
    if (failure != null || closed) {
      CoordinationException e = brokenFor(call);
      actions.add(() -> waiter.fail(e));
      return;
    }
    long[] next = nextSeq.get(call.channel());
    if (next == null && nextSeq.size() >= GroupCoordinator.MAX_CHANNELS) {
      String m =
          "rank " + rank + " opened more than " + GroupCoordinator.MAX_CHANNELS + " channels";
      actions.add(() -> waiter.fail(new CoordinationException(m, List.of())));
      failLocked(new CoordinationException(m, List.of()), actions);
      return;
    }
    if (next == null) {
      next = new long[env.worldSize()];
      nextSeq.put(call.channel(), next);
    }
    if (call.seq() != next[rank]) {
      String m =
          "rank "
              + rank
              + " sent "
              + call.describe()
              + " as call #"
              + call.seq()
              + ", expected #"
              + next[rank];
      actions.add(() -> waiter.fail(new CoordinationException(m, List.of())));
      failLocked(new CoordinationException(m, List.of()), actions);
      return;
    }
    next[rank]++;
    Round round =
        rounds.computeIfAbsent(Round.Key.of(call), k -> new Round(call, rank, env.worldSize()));
    String mismatch = round.mismatch(call, rank);
    if (mismatch != null) {
      CoordinationException e = new CoordinationException(mismatch, List.of());
      actions.add(() -> waiter.fail(e));
      failLocked(e, actions);
      return;
    }
    if (round.arrive(rank, call, waiter, System.nanoTime())) {
      long delay = round.deadline() - System.nanoTime();
      round.timer(timer.schedule(() -> expire(round), delay, TimeUnit.NANOSECONDS));
    }
    if (round.op == Op.ALL_GATHER && round.gatheredBytes() > Coordinator.MAX_GATHERED_BYTES) {
      failLocked(
          new CoordinationException(
              round.describe()
                  + " gathers more than "
                  + Coordinator.MAX_GATHERED_BYTES
                  + " bytes, the limit",
              List.of()),
          actions);
    } else if (round.complete()) {
      finishLocked(round, actions);
    } else {
      failIfDeparted(round, actions);
    }
  }

  private void finishLocked(Round round, List<Runnable> actions) {
    rounds.remove(round.key);
    round.cancelTimer();
    List<byte[]> result = round.result();
    for (Round.Waiter w : round.waiters()) {
      actions.add(() -> w.deliver(result));
    }
  }

  private void expire(Round round) {
    List<Runnable> actions = new ArrayList<>();
    synchronized (lock) {
      if (rounds.get(round.key) != round || System.nanoTime() < round.deadline()) {
        return; // answered, failed, or a newer timer holds the earlier deadline
      }
      List<Integer> missing = round.missing();
      String joined =
          missing.stream()
              .filter(r -> r != 0 && !peers.containsKey(r) && !left.contains(r))
              .map(String::valueOf)
              .collect(Collectors.joining(", "));
      failLocked(
          new CoordinationException(
              round.describe()
                  + " timed out after "
                  + Call.format(round.deadlineTimeout())
                  + " waiting for "
                  + ranks(missing)
                  + (joined.isEmpty() ? "" : " (never joined: " + joined + ")"),
              missing),
          actions);
    }
    actions.forEach(Runnable::run);
  }

  /** A rank that closed its coordinator will never arrive: fail a round that needs it. */
  private void failIfDeparted(Round round, List<Runnable> actions) {
    for (int r : left) {
      if (!round.has(r)) {
        failLocked(
            new CoordinationException(
                "rank "
                    + r
                    + " closed its coordinator, so "
                    + round.describe()
                    + " cannot complete",
                List.of(r)),
            actions);
        return;
      }
    }
  }

  /** A rank said goodbye: from now on, any call that needs it fails at once. */
  void leave(int rank, PeerConnection c) {
    List<Runnable> actions = new ArrayList<>();
    synchronized (lock) {
      if (peers.get(rank) == c) {
        peers.remove(rank);
        left.add(rank);
        for (Round round : List.copyOf(rounds.values())) {
          failIfDeparted(round, actions);
        }
      }
    }
    actions.forEach(Runnable::run);
  }

  /** A rank's connection broke without a goodbye: its process ended or the network failed. */
  void lost(int rank, PeerConnection c, IOException cause) {
    List<Runnable> actions = new ArrayList<>();
    synchronized (lock) {
      if (peers.get(rank) != c) {
        return;
      }
      peers.remove(rank);
      if (!closed) {
        failLocked(
            new CoordinationException(
                "lost connection to rank "
                    + rank
                    + " (its process ended or the network failed: "
                    + cause.getMessage()
                    + ")",
                List.of(rank),
                cause),
            actions);
      }
    }
    actions.forEach(Runnable::run);
  }

  /** Breaks the group: every open round fails with e, and so will every later call. */
  private void failLocked(CoordinationException e, List<Runnable> actions) {
    if (failure == null) {
      failure = e;
    }
    for (Round round : rounds.values()) {
      round.cancelTimer();
      for (Round.Waiter w : round.waiters()) {
        actions.add(() -> w.fail(e));
      }
    }
    rounds.clear();
  }

  private CoordinationException brokenFor(Call call) {
    CoordinationException first =
        failure != null
            ? failure
            : new CoordinationException("rank 0 closed its coordinator", List.of(0));
    return new CoordinationException(
        call.describe() + " cannot run: the group failed earlier: " + first.getMessage(),
        first.missingRanks());
  }

  /** Breaks the group: what waits, and every later call, fails with this message. */
  void abandon(String message) {
    List<Runnable> actions = new ArrayList<>();
    synchronized (lock) {
      failLocked(new CoordinationException(message, List.of(0)), actions);
    }
    actions.forEach(Runnable::run);
  }

  /** Test hook: waits until {@code rank} has made call number {@code seq} on the main channel. */
  void awaitArrival(int rank, long seq) throws InterruptedException {
    synchronized (lock) {
      while (nextSeq.getOrDefault(Call.MAIN, new long[env.worldSize()])[rank] <= seq) {
        lock.wait();
      }
    }
  }

  /** Fails whatever is waiting ("rank 0 closed its coordinator") and closes every connection. */
  @Override
  public void close() {
    List<Runnable> actions = new ArrayList<>();
    List<PeerConnection> open;
    synchronized (lock) {
      if (closed) {
        return;
      }
      failLocked(new CoordinationException("rank 0 closed its coordinator", List.of(0)), actions);
      closed = true;
      open = List.copyOf(peers.values());
      lock.notifyAll();
    }
    actions.forEach(Runnable::run);
    closeQuietly(server);
    open.forEach(PeerConnection::close);
    timer.shutdownNow();
  }

  /** "rank 2" or "ranks 2, 3". */
  static String ranks(List<Integer> ranks) {
    return (ranks.size() == 1 ? "rank " : "ranks ")
        + ranks.stream().map(String::valueOf).collect(Collectors.joining(", "));
  }

  static void closeQuietly(AutoCloseable c) {
    try {
      c.close();
    } catch (Exception e) {
      // closing to release: nothing left to tell anyone
    }
  }
}
