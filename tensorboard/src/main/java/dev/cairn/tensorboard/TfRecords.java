package dev.cairn.tensorboard;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.zip.CRC32C;

/**
 * TFRecord framing, the container of TensorBoard event files: a little-endian uint64 length, the
 * masked CRC32C of those 8 bytes, the data, the masked CRC32C of the data. A record cut short by a
 * crash fails its length or CRC check, and readers (TensorBoard's among them) stop there; the
 * records before it are untouched because the file is only ever appended to.
 */
final class TfRecords {
  private static final int MASK_DELTA = 0xa282ead8;

  private TfRecords() {}

  /** The framed record: 8 + 4 + data + 4 bytes. */
  static ByteBuffer frame(byte[] data) {
    ByteBuffer b = ByteBuffer.allocate(16 + data.length).order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(data.length);
    b.putInt(maskedCrc(b.array(), 0, 8));
    b.put(data);
    b.putInt(maskedCrc(data, 0, data.length));
    return b.flip();
  }

  /** TensorFlow's masked CRC32C: rotate right by 15 bits, then add a constant. */
  static int maskedCrc(byte[] bytes, int offset, int length) {
    CRC32C crc = new CRC32C();
    crc.update(bytes, offset, length);
    int c = (int) crc.getValue();
    return ((c >>> 15) | (c << 17)) + MASK_DELTA;
  }
}
