package dev.cairn.coordination;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

/**
 * The processes (ranks) of one job agreeing with each other: who they are, and three collective
 * calls that every rank makes in the same order. A single-process job has one rank and every call
 * returns at once; a job of N processes talks to a small rendezvous service hosted by rank 0 (see
 * {@link Coordinators#fromEnvironment}), separate from any training collective.
 *
 * <p>Every call has a timeout and never hangs past it: when a rank does not arrive in time, or a
 * rank's process ends or closes its coordinator, the call fails with a {@link
 * CoordinationException} naming the missing ranks, on every rank that is waiting. After any failed
 * call the coordinator is broken: every later call fails at once with the first failure, because
 * the ranks no longer agree on where they are; a job should then exit non-zero so that its launcher
 * restarts the whole group (see {@link #attempt()}).
 *
 * <p>Calls are matched by their position in each rank's sequence of calls and must agree on the
 * operation and the name; a mismatch fails the call on every rank and names both. Calls from
 * several threads of one process are serialized; threads that must call independently use separate
 * {@link #channel channels}. Names follow the rule for user names (1 to 64 letters, digits, '.',
 * '-' or '_'); a payload is at most {@link #MAX_PAYLOAD_BYTES} bytes and an allGather's result at
 * most {@link #MAX_GATHERED_BYTES}.
 */
public interface Coordinator extends AutoCloseable {
  /** The largest payload one rank may contribute to a call: 1 MiB. */
  int MAX_PAYLOAD_BYTES = 1 << 20;

  /** The largest sum of all ranks' payloads in one allGather: 64 MiB. */
  long MAX_GATHERED_BYTES = 64L << 20;

  /** This process's rank, from 0 to {@code worldSize() - 1}; rank 0 is the leader. */
  int rank();

  /** The number of ranks in the job. */
  int worldSize();

  /** This process's rank among the ranks on its machine (LOCAL_RANK), 0 when not given. */
  int localRank();

  /**
   * How many times the launcher has restarted the group (0 on the first attempt). Every rank of a
   * group has the same attempt; a rank of another attempt is refused when it joins.
   */
  int attempt();

  /** True on rank 0, which decides for the group (commits a checkpoint, say). */
  default boolean isLeader() {
    return rank() == 0;
  }

  /**
   * Returns once every rank has called {@code barrier} with this name as the same call.
   *
   * @throws CoordinationException when not all ranks arrive within the timeout (naming the missing
   *     ones), a rank is lost, the calls do not match, or the coordinator is broken
   * @throws java.io.InterruptedIOException when the thread is interrupted while waiting (the
   *     coordinator is then broken)
   * @throws IllegalArgumentException for a name outside the rule or a timeout not positive
   */
  void barrier(String name, Duration timeout) throws IOException;

  /**
   * Every rank contributes a payload; every rank receives all of them, indexed by rank.
   *
   * @return {@code worldSize()} payloads, element {@code r} from rank {@code r}
   * @throws CoordinationException as for {@link #barrier}, and when the gathered payloads exceed
   *     {@link #MAX_GATHERED_BYTES}
   * @throws java.io.InterruptedIOException as for {@link #barrier}
   * @throws IllegalArgumentException as for {@link #barrier}, and for a payload over {@link
   *     #MAX_PAYLOAD_BYTES}
   */
  List<byte[]> allGather(String name, byte[] payload, Duration timeout) throws IOException;

  /**
   * Every rank receives rank 0's payload: the way the leader's decision reaches the others.
   *
   * @param payload the value on rank 0 (required there); ignored and may be null on other ranks
   * @return rank 0's payload
   * @throws CoordinationException as for {@link #barrier}
   * @throws java.io.InterruptedIOException as for {@link #barrier}
   * @throws IllegalArgumentException as for {@link #allGather}, and for a null payload on rank 0
   */
  byte[] broadcast(String name, byte[] payload, Duration timeout) throws IOException;

  /**
   * A channel of this group: the same ranks, with a sequence of calls of its own. Calls are matched
   * by their position within their channel, so calls on different channels may run at the same time
   * from different threads — a background saver's checkpoint calls beside the training thread's —
   * without ranks interleaving them differently. Every rank that uses a channel opens it by the
   * same name; the same name gives the same channel. A failure on any channel breaks the whole
   * group. Closing a channel does nothing; closing this coordinator leaves the group.
   *
   * @throws IllegalArgumentException for a name outside the rule for names
   * @throws IllegalStateException past 16 channels
   */
  Coordinator channel(String name);

  /**
   * Leaves the group. On rank 0 this stops the rendezvous service, so ranks still waiting fail at
   * once ("lost connection to rank 0"); on another rank, a call that still needs this rank fails at
   * once on the others. Idempotent; never throws.
   */
  @Override
  void close();
}
