package dev.cairn.spark.demo;

import dev.cairn.cli.demo.DemoJob;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.Base64;
import org.apache.spark.BarrierTaskContext;

/**
 * Keeps the replicas of a barrier stage equal: after every {@code every} steps (counted from step
 * 0, so the schedule depends on the step alone and a resumed job averages where an uninterrupted
 * one would), each task sends its parameters to all the others with Spark's {@link
 * BarrierTaskContext#allGather} and sets its replica to the mean. Every task computes the same mean
 * from the same messages, in the same (rank) order, so the replicas come out bit for bit equal.
 *
 * <p>Spark carries strings: a message is {@code RANK:} followed by the base64 of the parameters as
 * little-endian floats. A network whose parameters do not fit one message (see {@link
 * #floatsPerMessage}) is averaged a slice at a time, one {@code allGather} per slice.
 */
final class ParameterAveraging implements DemoJob.StepHook {
  private final BarrierTaskContext ctx;
  private final int every;
  private final int floatsPerMessage;

  /**
   * @param every average after steps {@code every - 1}, {@code 2 * every - 1}, ...
   * @param floatsPerMessage the most parameters one message carries
   */
  ParameterAveraging(BarrierTaskContext ctx, int every, int floatsPerMessage) {
    if (every < 1 || floatsPerMessage < 1) {
      throw new IllegalArgumentException("averaging every " + every + ", " + floatsPerMessage);
    }
    this.ctx = ctx;
    this.every = every;
    this.floatsPerMessage = floatsPerMessage;
  }

  /**
   * How many parameters one task may put in one message so that the answer of an {@code allGather}
   * (every task's message) stays within half of Spark's RPC message limit ({@code
   * spark.rpc.message.maxSize}); the other half is headroom for Spark's own framing.
   */
  static int floatsPerMessage(long maxRpcBytes, int tasks) {
    long charsPerTask = maxRpcBytes / 2 / tasks;
    long floats = charsPerTask / 4 * 3 / Float.BYTES; // base64: 4 characters per 3 bytes
    return (int) Math.max(1, Math.min(Integer.MAX_VALUE / 8, floats));
  }

  @Override
  public void afterStep(long step, DemoJob.Weights weights) throws IOException {
    int world = ctx.getTaskInfos().length;
    if ((step + 1) % every != 0 || world == 1) {
      return;
    }
    float[] mine = weights.read();
    float[] mean = new float[mine.length];
    for (int from = 0; from < mine.length; from += floatsPerMessage) {
      int to = Math.min(mine.length, from + floatsPerMessage);
      String[] all = allGather(encode(ctx.partitionId(), mine, from, to), step);
      mean(all, world, mean, from, to - from);
    }
    weights.write(mean);
  }

  /**
   * Spark's allGather; its failures (a timeout, a stage ended) as an IOException naming the step.
   */
  private String[] allGather(String message, long step) throws IOException {
    try {
      return ctx.allGather(message);
    } catch (RuntimeException e) {
      throw e; // a killed task and the like: Spark's own, for Spark to handle
    } catch (Exception e) { // SparkException, which Scala throws undeclared
      throw new IOException(
          "rank "
              + ctx.partitionId()
              + ": Spark's allGather of the parameters after step "
              + step
              + " failed: "
              + e.getMessage(),
          e);
    }
  }

  /** {@code RANK:} and the base64 of {@code values[from, to)} as little-endian floats. */
  static String encode(int rank, float[] values, int from, int to) {
    ByteBuffer bytes =
        ByteBuffer.allocate((to - from) * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    bytes.asFloatBuffer().put(values, from, to - from);
    return rank + ":" + Base64.getEncoder().encodeToString(bytes.array());
  }

  /**
   * Writes into {@code out[at, at + n)} the mean of every rank's message: summed in rank order in
   * double precision, then divided and rounded to float, the same on every task.
   *
   * @throws IllegalStateException when a rank is missing, repeated, or sent another count
   */
  static void mean(String[] messages, int world, float[] out, int at, int n) {
    FloatBuffer[] byRank = new FloatBuffer[world];
    for (String m : messages) {
      int colon = m.indexOf(':');
      int rank = Integer.parseInt(m.substring(0, colon));
      if (rank < 0 || rank >= world || byRank[rank] != null) {
        throw new IllegalStateException("parameters from rank " + rank + " again or out of range");
      }
      byRank[rank] =
          ByteBuffer.wrap(Base64.getDecoder().decode(m.substring(colon + 1)))
              .order(ByteOrder.LITTLE_ENDIAN)
              .asFloatBuffer();
      if (byRank[rank].remaining() != n) {
        throw new IllegalStateException(
            "rank " + rank + " sent " + byRank[rank].remaining() + " parameters, not " + n);
      }
    }
    double[] sum = new double[n];
    for (int r = 0; r < world; r++) {
      if (byRank[r] == null) {
        throw new IllegalStateException("no parameters from rank " + r);
      }
      for (int i = 0; i < n; i++) {
        sum[i] += byRank[r].get(i);
      }
    }
    for (int i = 0; i < n; i++) {
      out[at + i] = (float) (sum[i] / world);
    }
  }
}
