package dev.cairn.run;

import java.io.IOException;

/**
 * Sees what a run records, off the training thread, so an integration (TensorBoard event files,
 * say) can write it elsewhere without touching core. Implementations come from {@link Factory}s
 * found with {@link java.util.ServiceLoader}: putting such a module on the class path is enough.
 *
 * <p>A listener must never block for long and never throw: its failures are reported as {@code
 * monitoring_failed} events and the run goes on without it.
 */
public interface RunListener {

  /**
   * One metrics record, on the metrics writer thread after it was formatted. The arrays are reused
   * once this returns: copy what you keep.
   */
  void onRecord(long step, long timeMillis, String[] keys, double[] values, int count);

  /**
   * A histogram of values (layer weights, gradients), called on the thread that logged it, usually
   * the training thread: hand the array to your own thread and return. The array is the listener's
   * to keep; the caller does not touch it again.
   */
  default void onHistogram(String tag, long step, long timeMillis, float[] values) {}

  /** The session ends: every record was delivered; write out and release files. */
  default void close() throws IOException {}

  /** Opens a listener for a run that has just started a session ({@code META-INF/services}). */
  interface Factory {
    /**
     * Called once per session, after run.json and the session start are written.
     *
     * @return the listener, or null when this integration does not apply to the run
     */
    RunListener open(Run run) throws IOException;
  }
}
