package dev.cairn.checkpoint;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.zip.CRC32C;

/**
 * CRC32C of each {@link #CHUNK_BYTES} chunk of a file and, when asked, the SHA-256 of the whole
 * file, in one pass.
 */
final class FileDigest {
  /** CRC32C chunk size: damage is located to within this many bytes. */
  static final long CHUNK_BYTES = 64L << 20;

  private final MessageDigest sha;
  private final boolean withSha;
  private final List<String> crcs = new ArrayList<>();
  private CRC32C crc = new CRC32C();
  private long inChunk;
  private long total;

  FileDigest(boolean withSha) {
    this.withSha = withSha;
    try {
      this.sha = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java runtime has SHA-256", e);
    }
  }

  /** Consumes the buffer's remaining bytes. */
  void update(ByteBuffer data) {
    ByteBuffer view = data.duplicate();
    while (view.hasRemaining()) {
      int n = (int) Math.min(view.remaining(), CHUNK_BYTES - inChunk);
      ByteBuffer part = view.slice();
      part.limit(n);
      crc.update(part.duplicate());
      if (withSha) {
        sha.update(part);
      }
      view.position(view.position() + n);
      inChunk += n;
      total += n;
      if (inChunk == CHUNK_BYTES) {
        closeChunk();
      }
    }
  }

  private void closeChunk() {
    crcs.add(hex8(crc.getValue()));
    crc = new CRC32C();
    inChunk = 0;
  }

  long total() {
    return total;
  }

  /** CRC32C of each chunk as 8 hex digits; call once, at the end. */
  List<String> crcs() {
    if (inChunk > 0) {
      closeChunk();
    }
    return List.copyOf(crcs);
  }

  /** The SHA-256 (hex) of every byte consumed, or null when it was not computed. */
  String sha256() {
    return withSha ? HexFormat.of().formatHex(sha.digest()) : null;
  }

  static String hex8(long crc) {
    return String.format("%08x", crc);
  }

  static String sha256(byte[] bytes) {
    FileDigest d = new FileDigest(true);
    d.update(ByteBuffer.wrap(bytes));
    return d.sha256();
  }
}
