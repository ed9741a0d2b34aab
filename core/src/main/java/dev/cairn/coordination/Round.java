package dev.cairn.coordination;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;

/**
 * One collective call as rank 0's rendezvous sees it: which ranks have arrived with what, and when
 * it times out (the earliest deadline among the ranks that arrived). Not thread-safe: the
 * rendezvous guards it with its lock.
 */
final class Round {
  /** Where a rank's answer goes: a local future or a peer's connection. Called outside the lock. */
  interface Waiter {
    void deliver(List<byte[]> result);

    void fail(CoordinationException e);
  }

  final Key key;
  final long seq;
  final Op op;
  final String name;
  private final int firstRank;
  private final byte[][] payloads;
  private final Waiter[] waiters;
  private int arrived;
  private long gathered;
  private long deadline = Long.MAX_VALUE;
  private Duration deadlineTimeout;
  private ScheduledFuture<?> timer;

  /** Which round a call belongs to: its channel and its position there. */
  record Key(String channel, long seq) {
    static Key of(Call call) {
      return new Key(call.channel(), call.seq());
    }
  }

  Round(Call call, int rank, int world) {
    this.key = Key.of(call);
    this.seq = call.seq();
    this.op = call.op();
    this.name = call.name();
    this.firstRank = rank;
    this.payloads = new byte[world][];
    this.waiters = new Waiter[world];
  }

  /** Null when the call matches this round, else the message saying how the two calls differ. */
  String mismatch(Call call, int rank) {
    if (call.op() == op && call.name().equals(name)) {
      return null;
    }
    return "call #"
        + seq
        + (Call.MAIN.equals(key.channel()) ? "" : " on channel '" + key.channel() + "'")
        + " does not match across ranks: rank "
        + firstRank
        + " called "
        + describe()
        + ", rank "
        + rank
        + " called "
        + call.describe();
  }

  /** Records the rank's arrival; returns true when the deadline became earlier. */
  boolean arrive(int rank, Call call, Waiter waiter, long now) {
    payloads[rank] = call.payload();
    waiters[rank] = waiter;
    arrived++;
    gathered += call.payload().length;
    long d = now + call.timeout().toNanos();
    if (d < deadline) {
      deadline = d;
      deadlineTimeout = call.timeout();
      return true;
    }
    return false;
  }

  boolean has(int rank) {
    return waiters[rank] != null;
  }

  boolean complete() {
    return arrived == waiters.length;
  }

  long gatheredBytes() {
    return gathered;
  }

  long deadline() {
    return deadline;
  }

  Duration deadlineTimeout() {
    return deadlineTimeout;
  }

  /** Replaces the task that fails this round at its deadline. */
  void timer(ScheduledFuture<?> task) {
    cancelTimer();
    timer = task;
  }

  void cancelTimer() {
    if (timer != null) {
      timer.cancel(false);
      timer = null;
    }
  }

  /** What every rank receives: nothing, rank 0's payload, or all payloads by rank. */
  List<byte[]> result() {
    return switch (op) {
      case BARRIER -> List.of();
      case BROADCAST -> List.of(payloads[0]);
      case ALL_GATHER -> List.of(payloads);
    };
  }

  /** The ranks not arrived yet, ascending. */
  List<Integer> missing() {
    List<Integer> out = new ArrayList<>();
    for (int r = 0; r < waiters.length; r++) {
      if (waiters[r] == null) {
        out.add(r);
      }
    }
    return out;
  }

  /** The waiters of the ranks that arrived, rank 0 (the local caller) last. */
  List<Waiter> waiters() {
    List<Waiter> out = new ArrayList<>();
    for (int r = waiters.length - 1; r >= 0; r--) {
      if (waiters[r] != null) {
        out.add(waiters[r]);
      }
    }
    return out;
  }

  String describe() {
    return op.wire
        + " '"
        + name
        + "'"
        + (Call.MAIN.equals(key.channel()) ? "" : " on channel '" + key.channel() + "'");
  }
}
