package dev.cairn.spark;

import dev.cairn.concurrent.DaemonThreads;
import dev.cairn.coordination.CoordinationException;
import dev.cairn.coordination.Coordinator;
import dev.cairn.coordination.Coordinators;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.BarrierTaskInfo;
import org.apache.spark.util.TaskCompletionListener;

/**
 * The tasks of a Spark barrier stage as the ranks of one Cairn {@link Coordinator} group.
 *
 * <p>Spark gives the group: its barrier execution mode ({@code rdd.barrier().mapPartitions(...)})
 * launches every task of the stage at once or none, numbers them (the partition id is the rank, the
 * number of tasks the world size), tells each task every task's address, and when a task fails it
 * kills the others and retries the whole stage (a shuffle map stage; a failed result stage ends the
 * job). Cairn gives the calls: rank 0 hosts Cairn's own rendezvous, so that {@link
 * Coordinator#barrier}, {@link Coordinator#allGather} and {@link Coordinator#broadcast} each have
 * their own timeout and fail naming the ranks that did not arrive, and save coordination stays off
 * whatever collective the training itself runs on (Spark's {@code allGather}, say). Spark's own
 * barrier calls wait up to {@code spark.barrier.sync.timeout}, a year unless set, and say nothing
 * of who is missing.
 */
public final class SparkCoordinator {
  private static final SecureRandom RANDOM = new SecureRandom();

  /** The barrier that ends {@link #join}: the first call of every rank's coordinator. */
  private static final String JOINED = "cairn-spark-joined";

  private SparkCoordinator() {}

  /**
   * This task's coordinator, once every task of the stage has joined the group. Every task of the
   * barrier stage must call it once, at the same point: rank 0 listens on a free port of its host
   * (the host of its task's address), the tasks share that address and a random token with one
   * Spark {@code allGather}, the others join rank 0, and a first barrier ({@code
   * cairn-spark-joined}) waits for all of them, so that no rank returns (and perhaps closes) while
   * another is still joining.
   *
   * <p>The coordinator's rank is the task's partition id, its world size the number of tasks in the
   * stage, its local rank the task's place among the tasks on the same host, and its attempt the
   * stage attempt number: Spark retries a failed barrier stage as a whole, so a retried group is a
   * new attempt and a task left over from an earlier one is refused. The coordinator closes itself
   * when the task ends, whether it succeeds or fails, so that the other ranks' calls fail at once
   * instead of at their timeout; closing it earlier is allowed.
   *
   * <p>Spark's exchange cannot be interrupted: when it times out here, it stays parked on a daemon
   * thread of the executor. A {@code spark.barrier.sync.timeout} shorter than {@code timeout} lets
   * Spark fail it first.
   *
   * @param ctx the task's context ({@code BarrierTaskContext.get()} inside {@code mapPartitions})
   * @param timeout how long to wait for every task to reach this call and for rank 0 to admit this
   *     rank
   * @throws CoordinationException when not every task reaches Spark's exchange within the timeout
   *     (Spark does not say which task is late), when that exchange fails, when rank 0 cannot
   *     listen or refuses this rank, or when a rank has not joined by the timeout (the message
   *     names it)
   * @throws InterruptedIOException when the thread is interrupted while waiting
   * @throws IllegalArgumentException when the timeout is not positive
   */
  public static Coordinator join(BarrierTaskContext ctx, Duration timeout) throws IOException {
    if (timeout.isZero() || timeout.isNegative()) {
      throw new IllegalArgumentException("the join timeout must be positive, was " + timeout);
    }
    long deadline = System.nanoTime() + timeout.toNanos();
    String[] addresses = addresses(ctx.getTaskInfos());
    int rank = ctx.partitionId();
    Coordinators.GroupBuilder group =
        Coordinators.group(rank, addresses.length)
            .localRank(localRank(addresses, rank))
            .attempt(ctx.stageAttemptNumber());
    if (addresses.length == 1) {
      return closedWithTask(ctx, group.start());
    }
    Coordinator c =
        rank == 0
            ? host(ctx, group, host(addresses[0]), deadline, timeout)
            : peer(ctx, group, deadline, timeout);
    try {
      // Every rank admitted before any returns: a rank 0 that finished at once and closed would
      // otherwise leave the others knocking on a closed port until their join timeout.
      c.barrier(JOINED, Duration.ofNanos(Math.max(1, deadline - System.nanoTime())));
    } catch (IOException | RuntimeException e) {
      c.close();
      throw e;
    }
    return closedWithTask(ctx, c);
  }

  /** Rank 0: listens on a free port of its host, then tells the others where with Spark. */
  private static Coordinator host(
      BarrierTaskContext ctx,
      Coordinators.GroupBuilder group,
      String host,
      long deadline,
      Duration timeout)
      throws IOException {
    String token = HexFormat.of().formatHex(token());
    Coordinator zero = group.rendezvous(host, 0).token(token).start();
    try {
      String address = new Address(host, Coordinators.rendezvousPort(zero), token).toString();
      exchange(ctx, address, deadline, timeout);
      return zero;
    } catch (IOException | RuntimeException | Error e) {
      zero.close();
      throw e;
    }
  }

  /** Another rank: learns rank 0's address from Spark and joins it. */
  private static Coordinator peer(
      BarrierTaskContext ctx, Coordinators.GroupBuilder group, long deadline, Duration timeout)
      throws IOException {
    Address zero = Address.parse(exchange(ctx, "", deadline, timeout)[0]);
    return group
        .rendezvous(zero.host(), zero.port())
        .token(zero.token())
        .joinTimeout(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())))
        .start();
  }

  private static byte[] token() {
    byte[] b = new byte[16];
    RANDOM.nextBytes(b);
    return b;
  }

  private static Coordinator closedWithTask(BarrierTaskContext ctx, Coordinator c) {
    TaskCompletionListener close = done -> c.close();
    ctx.addTaskCompletionListener(close);
    return c;
  }

  private static String[] addresses(BarrierTaskInfo[] infos) {
    String[] out = new String[infos.length];
    for (int i = 0; i < infos.length; i++) {
      out[i] = infos[i].address();
    }
    return out;
  }

  /** This rank's place among the ranks whose address has the same host. */
  static int localRank(String[] addresses, int rank) {
    String mine = host(addresses[rank]);
    int before = 0;
    for (int r = 0; r < rank; r++) {
      if (host(addresses[r]).equals(mine)) {
        before++;
      }
    }
    return before;
  }

  /** The host of a task's "host:port" address, without the brackets of an IPv6 literal. */
  static String host(String address) {
    int colon = address.lastIndexOf(':');
    String h = colon < 0 ? address : address.substring(0, colon);
    if (h.startsWith("[") && h.endsWith("]")) {
      h = h.substring(1, h.length() - 1);
    }
    return h;
  }

  /**
   * Spark's allGather, bounded by the deadline. Spark's own call waits up to {@code
   * spark.barrier.sync.timeout} and cannot be interrupted (only killing the task ends it), so it
   * runs on a daemon thread of its own, left parked on a timeout: once this task has failed and the
   * stage ended, Spark no longer answers it. A {@code spark.barrier.sync.timeout} shorter than the
   * join timeout makes Spark fail the exchange first, and nothing is left behind.
   */
  private static String[] exchange(
      BarrierTaskContext ctx, String message, long deadline, Duration timeout) throws IOException {
    FutureTask<String[]> gather = new FutureTask<>(() -> ctx.allGather(message));
    DaemonThreads.named("cairn-spark-join").newThread(gather).start();
    int rank = ctx.partitionId();
    try {
      return gather.get(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      throw new CoordinationException(
          "rank "
              + rank
              + ": not every task of barrier stage "
              + ctx.stageId()
              + " (attempt "
              + ctx.stageAttemptNumber()
              + ") reached SparkCoordinator.join within "
              + timeout.toMillis()
              + " ms; Spark does not say which is late",
          List.of(),
          e);
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException r) {
        throw r; // TaskKilledException and the like: Spark's own, for Spark to handle
      }
      if (cause instanceof Error err) {
        throw err;
      }
      throw new CoordinationException(
          "rank " + rank + ": Spark's allGather in SparkCoordinator.join failed: " + cause,
          List.of(),
          cause);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException(
          "rank " + rank + " was interrupted in SparkCoordinator.join");
    }
  }

  /** Rank 0's rendezvous as rank 0 tells it: "host:port:token" (the host may hold colons). */
  record Address(String host, int port, String token) {
    static Address parse(String s) throws CoordinationException {
      int t = s.lastIndexOf(':');
      int p = t < 0 ? -1 : s.lastIndexOf(':', t - 1);
      try {
        if (p > 0) {
          return new Address(
              s.substring(0, p), Integer.parseInt(s.substring(p + 1, t)), s.substring(t + 1));
        }
      } catch (NumberFormatException e) {
        // reported below
      }
      throw new CoordinationException(
          "rank 0's rendezvous address '" + s + "' is not host:port:token", List.of(0));
    }

    @Override
    public String toString() {
      return host + ":" + port + ":" + token;
    }
  }
}
