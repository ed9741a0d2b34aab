package dev.cairn.checkpoint;

import java.nio.file.Path;

/** A checkpoint that is committed and durable. */
public record SavedCheckpoint(
    long step, String name, Path folder, Manifest manifest, long bytes, long nanos) {}
