package dev.cairn.checkpoint;

import java.nio.file.Path;

/**
 * A published checkpoint folder as listed, from its manifest only (no data read).
 *
 * @param manifest null unless {@code state} is {@link CheckpointState#COMMITTED}
 * @param pinned named, or pinned by hand: never removed by a retention policy
 * @param state {@link CheckpointState#COMMITTED} or {@link CheckpointState#DAMAGED} (a damaged one
 *     is listed so it can be reported)
 */
public record CheckpointInfo(
    long step, Path folder, Manifest manifest, boolean pinned, CheckpointState state) {

  /** Published with a sound manifest (the data is checked separately, on load or verify). */
  public boolean committed() {
    return state == CheckpointState.COMMITTED;
  }
}
