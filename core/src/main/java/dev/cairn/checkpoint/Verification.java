package dev.cairn.checkpoint;

/** How much of a checkpoint is read to check it. */
public enum Verification {
  /** Manifest seal, files present with the right sizes, part headers valid. No data read. */
  SIZES,
  /** SIZES plus the CRC32C of every 64 MiB chunk: reads all data, hardware-accelerated. */
  CRC32C,
  /** CRC32C plus the SHA-256 of every file. */
  FULL
}
