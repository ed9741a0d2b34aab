package dev.cairn.run;

import dev.cairn.events.Events;
import dev.cairn.manager.CheckpointManager;
import dev.cairn.manager.CheckpointPolicy;
import dev.cairn.metrics.MetricsLog;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/**
 * One run folder and this process's session in it: provenance (run.json), sessions, metrics,
 * events, progress and heartbeat, control requests and checkpoints. Open with {@link Cairn#open};
 * close it (try-with-resources) to end the session cleanly.
 */
public interface Run extends AutoCloseable {

  /** The run's folder name. */
  String id();

  /** The run's folder on this machine (for a remote run, its local working copy). */
  Path dir();

  /** Where the run lives, for people: its folder, or its remote URI (hdfs://, s3a://...). */
  default String location() {
    return dir().toString();
  }

  /** This process's session number (1 for the first start, 2 after one resume, ...). */
  int session();

  /** Events of this run (events.jsonl and training.log). */
  Events events();

  /**
   * The checkpoint manager of this run (one per run; a second call returns the same manager and
   * must pass an equal policy).
   */
  CheckpointManager checkpoints(CheckpointPolicy policy) throws IOException;

  /** Logs scalars for a step (the training thread only enqueues). */
  void log(long step, Map<String, Double> metrics);

  /**
   * The metrics log, for allocation-free logging: {@code metrics().begin(step).put(..).commit()}.
   */
  MetricsLog metrics();

  /**
   * Hands a histogram of values (weights, gradients) to the run's {@link RunListener}s, such as
   * TensorBoard's; nothing is written when there are none. Cheap on the training thread: the array
   * is passed on as is, so do not change it after the call.
   */
  void histogram(String tag, long step, float[] values);

  /** Tells progress how much one step processes, for samples/s and tokens/s. */
  void batchSize(long samplesPerStep, long tokensPerStep);

  /** What progress.json would say now (step, percent, ETA, rates, loss, last checkpoint). */
  com.fasterxml.jackson.databind.node.ObjectNode progress();

  /**
   * Marks this session as failed (close it afterwards): {@code cairn runs} then says "failed"
   * instead of "stopped". Same as {@code endAs(FAILED, cause)} plus a warning event.
   */
  void fail(Throwable cause);

  /**
   * Records how this session ends, written to sessions.jsonl (as {@code reason}, with {@code
   * detail}) when the session ends: at {@link #close}, or in the JVM's shutdown (SIGTERM) if the
   * program never closes the run. The last call wins, except that nothing replaces {@link
   * SessionEnd#FINISHED}. Without a call the end is {@link SessionEnd#STOPPED}. A stop requested
   * from outside (the dashboard, {@code cairn stop}) calls {@code endAs(STOPPED, why)} and closes
   * the run.
   *
   * @param detail a short sentence for people, like "stop requested from the dashboard"
   */
  void endAs(SessionEnd state, String detail);

  /** Writes results.json and ends the session as finished. */
  void finish(Map<String, Double> finalMetrics) throws IOException;

  /** Ends the session: waits for checkpoint saves and metrics, writes the end of session. */
  @Override
  void close() throws IOException;
}
