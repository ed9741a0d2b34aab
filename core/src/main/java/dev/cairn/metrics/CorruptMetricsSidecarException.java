package dev.cairn.metrics;

import java.io.IOException;

/** metrics.bin holds a block whose checksum matched but whose content breaks the format. */
final class CorruptMetricsSidecarException extends IOException {
  private static final long serialVersionUID = 1L;

  CorruptMetricsSidecarException(String message) {
    super("metrics.bin: " + message);
  }
}
