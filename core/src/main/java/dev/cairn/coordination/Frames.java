package dev.cairn.coordination;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;

/**
 * The wire format: a 4-byte big-endian length, then that many bytes of one UTF-8 JSON object.
 * Payloads travel base64-encoded inside the JSON. The reader refuses a frame over its limit before
 * allocating it, so a confused or hostile peer cannot make a rank allocate gigabytes.
 */
final class Frames {
  static final ObjectMapper JSON = new ObjectMapper();

  /** Bumped when the messages change incompatibly; a mismatch is refused at the handshake. */
  static final int PROTOCOL = 2;

  /** The largest hello or bye (a few short fields). */
  static final int MAX_SMALL = 4096;

  /** The largest call: one payload in base64, plus its header. */
  static final int MAX_CALL = Coordinator.MAX_PAYLOAD_BYTES / 3 * 4 + 8192;

  /** The largest answer: a gather's payloads in base64, plus a header per rank. */
  static final int MAX_ANSWER =
      (int) (Coordinator.MAX_GATHERED_BYTES / 3 * 4 + 16L * Coordinators.MAX_WORLD_SIZE + 8192);

  private Frames() {}

  static ObjectNode read(DataInputStream in, int limit) throws IOException {
    int n;
    try {
      n = in.readInt();
    } catch (EOFException e) {
      throw new EOFException("the connection was closed");
    }
    if (n < 2 || n > limit) {
      throw new IOException("a message of " + n + " bytes, over the limit of " + limit);
    }
    byte[] b = new byte[n];
    in.readFully(b);
    if (!(JSON.readTree(b) instanceof ObjectNode o)) {
      throw new IOException("a message that is not a JSON object");
    }
    return o;
  }

  static void write(DataOutputStream out, ObjectNode message) throws IOException {
    byte[] b = JSON.writeValueAsBytes(message);
    out.writeInt(b.length);
    out.write(b);
    out.flush();
  }

  static ObjectNode object(String type) {
    return JSON.createObjectNode().put("type", type);
  }
}
