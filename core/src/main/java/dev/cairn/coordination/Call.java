package dev.cairn.coordination;

import dev.cairn.checkpoint.Names;
import java.time.Duration;

/**
 * One rank's collective call: its position in the rank's sequence, the operation, the name, the
 * payload (empty for a barrier and for broadcast on ranks other than 0) and its timeout. The
 * constructor is the one place the limits on names, payloads and timeouts are checked.
 */
record Call(long seq, Op op, String name, byte[] payload, Duration timeout) {
  /** Longer timeouts are mistakes (Spark's default barrier timeout is a year, and a trap). */
  static final Duration MAX_TIMEOUT = Duration.ofDays(365);

  Call {
    Names.requireSafe(name, op.wire + " name");
    if (payload.length > Coordinator.MAX_PAYLOAD_BYTES) {
      throw new IllegalArgumentException(
          op.wire
              + " '"
              + name
              + "': payload of "
              + payload.length
              + " bytes is over the limit of "
              + Coordinator.MAX_PAYLOAD_BYTES);
    }
    if (timeout.isZero() || timeout.isNegative() || timeout.compareTo(MAX_TIMEOUT) > 0) {
      throw new IllegalArgumentException(
          op.wire
              + " '"
              + name
              + "': the timeout must be positive and at most 365 days, was "
              + timeout);
    }
  }

  /** Validates the arguments a caller passed on {@code rank}, and numbers the call. */
  static Call of(long seq, Op op, String name, byte[] payload, Duration timeout, int rank) {
    if (op == Op.BROADCAST && rank == 0 && payload == null) {
      throw new IllegalArgumentException(
          "broadcast '" + name + "': rank 0 must give the payload to broadcast");
    }
    if (op == Op.ALL_GATHER && payload == null) {
      throw new IllegalArgumentException("allGather '" + name + "': the payload must not be null");
    }
    byte[] p = op == Op.BARRIER || (op == Op.BROADCAST && rank != 0) ? new byte[0] : payload;
    return new Call(seq, op, name, p, timeout);
  }

  /** "barrier 'save-120'". */
  String describe() {
    return op.wire + " '" + name + "'";
  }

  /** "30s", "250ms", "5m": how a person writes the timeout. */
  static String format(Duration d) {
    long ms = d.toMillis();
    if (ms >= 60_000 && ms % 60_000 == 0) {
      return ms / 60_000 + "m";
    }
    if (ms >= 1000 && ms % 1000 == 0) {
      return ms / 1000 + "s";
    }
    return ms + "ms";
  }
}
