package dev.cairn.coordination;

import dev.cairn.checkpoint.Names;
import java.time.Duration;

/**
 * One rank's collective call: its channel and its position in the rank's sequence on that channel,
 * the operation, the name, the payload (empty for a barrier and for broadcast on ranks other than
 * 0) and its timeout. The constructor is the one place the limits on channels, names, payloads and
 * timeouts are checked.
 */
record Call(String channel, long seq, Op op, String name, byte[] payload, Duration timeout) {
  /** The channel of the coordinator itself, as opposed to one made by {@code channel(name)}. */
  static final String MAIN = "main";

  /** Longer timeouts are mistakes (Spark's default barrier timeout is a year, and a trap). */
  static final Duration MAX_TIMEOUT = Duration.ofDays(365);

  Call {
    Names.requireSafe(channel, "channel name");
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
  static Call of(
      String channel, long seq, Op op, String name, byte[] payload, Duration timeout, int rank) {
    if (op == Op.BROADCAST && rank == 0 && payload == null) {
      throw new IllegalArgumentException(
          "broadcast '" + name + "': rank 0 must give the payload to broadcast");
    }
    if (op == Op.ALL_GATHER && payload == null) {
      throw new IllegalArgumentException("allGather '" + name + "': the payload must not be null");
    }
    byte[] p = op == Op.BARRIER || (op == Op.BROADCAST && rank != 0) ? new byte[0] : payload;
    return new Call(channel, seq, op, name, p, timeout);
  }

  /** "barrier 'save-120'", or "barrier 'save-120' on channel 'checkpoint'". */
  String describe() {
    return op.wire
        + " '"
        + name
        + "'"
        + (MAIN.equals(channel) ? "" : " on channel '" + channel + "'");
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
