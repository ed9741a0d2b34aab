package dev.cairn.manager;

import java.io.IOException;

/**
 * Anything whose state goes into a checkpoint: model weights, optimizer moments, a data position,
 * an RNG. Like torch.distributed.checkpoint's Stateful: write yourself into a snapshot, read
 * yourself back.
 */
public interface Checkpointable {

  /**
   * The part name: 1-64 letters, digits, '.', '-' or '_', unique within a manager ("state" is
   * reserved). Its tensors are stored in {@code <name>.safetensors}.
   */
  String name();

  /**
   * Copies the current state into {@code out}. Runs on the training thread between steps; the data
   * is copied into reused staging buffers, so the state may change as soon as this returns.
   */
  void snapshot(Snapshot out);

  /** Replaces the current state with the saved one. */
  void restore(Restored in) throws IOException;
}
