package dev.cairn.checkpoint;

import java.nio.file.Path;

/**
 * A committed checkpoint as listed, from its manifest only (no data read).
 *
 * @param manifest null when the folder has no readable manifest (listed so it can be reported)
 * @param pinned named, or pinned by hand: never removed by a retention policy
 */
public record CheckpointInfo(long step, Path folder, Manifest manifest, boolean pinned) {

  /** The manifest was read and sealed correctly; the data has not been checked. */
  public boolean hasManifest() {
    return manifest != null;
  }
}
