package dev.cairn.coordination;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * The first message of a connection: who the joining rank says it is. Rank 0 admits it only when it
 * speaks the same protocol, presents the same token, and agrees on the size of the group and on the
 * attempt, so that a straggler from an earlier attempt never mixes into a newer group.
 */
final class Handshake {
  private Handshake() {}

  /** What a joining rank says about itself. */
  record Hello(int protocol, int rank, int world, int attempt, String token) {
    ObjectNode toJson() {
      ObjectNode o =
          Frames.object("hello")
              .put("protocol", protocol)
              .put("rank", rank)
              .put("world", world)
              .put("attempt", attempt);
      if (token != null) {
        o.put("token", token);
      }
      return o;
    }

    static Hello of(RankEnvironment env) {
      return new Hello(Frames.PROTOCOL, env.rank(), env.worldSize(), env.attempt(), env.token());
    }

    static Hello fromJson(ObjectNode o) {
      return new Hello(
          o.path("protocol").asInt(-1),
          o.path("rank").asInt(-1),
          o.path("world").asInt(-1),
          o.path("attempt").asInt(-1),
          o.hasNonNull("token") ? o.get("token").asText() : null);
    }

    /** Null when rank 0 (of {@code env}) may admit this rank, else why not. */
    String refusal(RankEnvironment env) {
      String who = "rank 0 refused rank " + rank + ": ";
      if (protocol != Frames.PROTOCOL) {
        return who
            + "it speaks protocol "
            + protocol
            + ", rank 0 speaks "
            + Frames.PROTOCOL
            + " (run the same Cairn version on every rank)";
      }
      if (!sameToken(env.token(), token)) {
        return who + "its CAIRN_COORD_TOKEN differs from rank 0's";
      }
      if (world != env.worldSize()) {
        return who + "it expects " + world + " ranks, the group has " + env.worldSize();
      }
      if (attempt != env.attempt()) {
        return who
            + "it belongs to attempt "
            + attempt
            + ", the group is attempt "
            + env.attempt()
            + " (a process left over from another attempt?)";
      }
      if (rank < 1 || rank >= world) {
        return who + "a joining rank must be from 1 to " + (world - 1);
      }
      return null;
    }
  }

  private static boolean sameToken(String expected, String given) {
    if (expected == null) {
      return true;
    }
    return given != null
        && MessageDigest.isEqual(
            expected.getBytes(StandardCharsets.UTF_8), given.getBytes(StandardCharsets.UTF_8));
  }
}
