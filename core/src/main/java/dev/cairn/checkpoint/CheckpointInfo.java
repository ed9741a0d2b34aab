package dev.cairn.checkpoint;

import java.nio.file.Path;

/**
 * A published checkpoint folder as listed, from its manifest only (no data read).
 *
 * @param manifest null unless {@code state} is {@link CheckpointState#COMMITTED}
 * @param pinned named, or pinned by hand: never removed by a retention policy
 * @param state {@link CheckpointState#COMMITTED} or {@link CheckpointState#DAMAGED} (a damaged one
 *     is listed so it can be reported)
 * @param folder its folder on a local disk; on remote storage a stand-in path, for its last name
 * @param location where it is, for people: an absolute path or a URI
 */
public record CheckpointInfo(
    long step,
    Path folder,
    Manifest manifest,
    boolean pinned,
    CheckpointState state,
    String location) {

  /** Published with a sound manifest (the data is checked separately, on load or verify). */
  public boolean committed() {
    return state == CheckpointState.COMMITTED;
  }
}
