package dev.cairn.checkpoint;

import java.nio.file.Path;

/**
 * A checkpoint that is committed and durable.
 *
 * @param folder its folder on a local disk; on remote storage a stand-in path, for its last name
 * @param location where it is, for people: an absolute path or a URI such as {@code
 *     hdfs://namenode/runs/job/checkpoints/step-300}
 */
public record SavedCheckpoint(
    long step,
    String name,
    Path folder,
    Manifest manifest,
    long bytes,
    long nanos,
    String location) {}
