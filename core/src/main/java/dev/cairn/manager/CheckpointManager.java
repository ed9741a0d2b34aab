package dev.cairn.manager;

import dev.cairn.checkpoint.CheckpointStore;
import dev.cairn.checkpoint.SavedCheckpoint;
import java.io.IOException;
import java.util.Map;
import java.util.Optional;

/**
 * What a training loop talks to: restore once, report every step, the manager decides when to save
 * (see {@link CheckpointPolicy}). Steps are counted the way the loop counts them: {@code onStep(s)}
 * means step {@code s} (0-based) is done, so the checkpoint taken then holds {@code s + 1}
 * completed steps and is named {@code step-(s+1)}, and {@link #restoreLatest} returns {@code s +
 * 1}, the next step to run.
 *
 * <pre>{@code
 * long start = ckpt.restoreLatest(model, optimizer, data, rng);   // 0 when fresh
 * for (long step = start; step < total; step++) {
 *   ... train ...
 *   ckpt.onStep(step, Map.of("loss", loss));                        // may save
 * }
 * ckpt.saveFinal();
 * }</pre>
 *
 * <p>Saves are asynchronous by default: the training thread pays for copying the state into reused
 * staging buffers; a background thread runs the commit protocol. The training thread never waits
 * for the storage (a remote one may stall for minutes). A save that names its step (every N steps,
 * best metric, requested) and fires while another is being written is copied into a second staging
 * area (made on first need: as much host memory again as the state) and queued behind it; when both
 * areas are busy, or for a wall-time save, it is <b>deferred</b> to the first step after one ends,
 * except a best-metric save, which is dropped (the next step that beats the saved best takes it).
 * Each deferral is reported once per save in flight as a {@code checkpoint_deferred} event. Only
 * the final and the shutdown saves wait. A failed background save never throws into the training
 * thread: it becomes a {@code checkpoint_failed} event, and the next successful save's event
 * mentions it.
 */
public interface CheckpointManager extends AutoCloseable {

  /**
   * Registers the components whose state is saved and restores the newest valid checkpoint into
   * them, skipping damaged ones (each skip is a warning event).
   *
   * @return steps completed in the restored checkpoint (the next step to run); 0 when fresh
   * @throws IllegalStateException when the checkpoint lacks a registered component
   */
  long restoreLatest(Checkpointable... components) throws IOException;

  /**
   * Step {@code step} (0-based) is done. Cheap: a few comparisons unless a save is due.
   *
   * @return true when a save was started on this step
   */
  boolean onStep(long step, Map<String, Double> metrics);

  default boolean onStep(long step) {
    return onStep(step, Map.of());
  }

  /**
   * Asks for a save at the next step without waiting (from any thread: a dashboard, a signal
   * handler); answered with save_request_done or save_request_failed events carrying the returned
   * id.
   *
   * @param name checkpoint name (pins it), or null
   */
  String requestSave(String name);

  /**
   * True once a stop request (from {@code cairn stop}, the dashboard's Stop, or {@link
   * #requestStop}) has been taken by {@link #onStep}: that step's checkpoint is being saved, and
   * the training loop should end now and close the run without finishing it, so its session ends as
   * stopped and a later start resumes from that checkpoint. Training thread.
   */
  default boolean stopRequested() {
    return false;
  }

  /**
   * Asks for a checkpoint at the next step followed by a stop ({@link #stopRequested}); any thread.
   * Returns the request's id, which the save's answer events carry.
   */
  default String requestStop() {
    throw new UnsupportedOperationException("this checkpoint manager cannot stop a job");
  }

  /** Saves the state after the last reported step now and waits until it is durable. */
  SavedCheckpoint saveNow(String name) throws IOException;

  /**
   * Runs {@code action} on the training thread just before each save copies the state. A loop that
   * holds back its per-step metrics (the DJL listener reads losses from the device in batches, so
   * as not to wait for the device every step) logs them here: every step before a checkpoint is
   * then in metrics.jsonl when the checkpoint is, even when a SIGTERM ends the JVM right after its
   * last save. An action that throws is reported as an event and the save goes on.
   */
  default void beforeSave(Runnable action) {
    throw new UnsupportedOperationException("this checkpoint manager takes no beforeSave actions");
  }

  /**
   * The end-of-training save: waits for a save in flight, then saves the last step unless it is
   * already saved. Empty when nothing was ever reported.
   */
  Optional<SavedCheckpoint> saveFinal() throws IOException;

  /** The newest checkpoint this manager made durable. */
  Optional<SavedCheckpoint> lastSaved();

  /** The failure of the most recent save that failed, if the one after it has not succeeded. */
  Optional<Throwable> lastFailure();

  /** The store underneath, for listing, pinning and verification. */
  CheckpointStore store();

  /** Waits for the save in flight and releases threads and files. */
  @Override
  void close() throws IOException;
}
