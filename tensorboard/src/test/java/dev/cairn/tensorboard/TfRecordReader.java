package dev.cairn.tensorboard;

import dev.cairn.tensorboard.proto.Event;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The tests' independent reader: TFRecord framing with its own bitwise CRC32C (not the JDK's, not
 * the writer's code) and protoc-generated classes for the events. It stops, as TensorBoard does, at
 * a record that is cut short; a CRC mismatch on a complete record fails the test.
 */
final class TfRecordReader {
  record Result(List<Event> events, boolean torn) {}

  private TfRecordReader() {}

  static Result read(Path file) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    List<Event> events = new ArrayList<>();
    while (b.hasRemaining()) {
      if (b.remaining() < 12) {
        return new Result(events, true);
      }
      byte[] header = new byte[8];
      b.get(header);
      int headerCrc = b.getInt();
      if (headerCrc != masked(header)) {
        throw new IOException("length CRC mismatch at record " + events.size());
      }
      long length = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).getLong();
      if (b.remaining() < length + 4) {
        return new Result(events, true);
      }
      byte[] data = new byte[(int) length];
      b.get(data);
      if (b.getInt() != masked(data)) {
        throw new IOException("data CRC mismatch at record " + events.size());
      }
      events.add(Event.parseFrom(data));
    }
    return new Result(events, false);
  }

  static int masked(byte[] data) {
    int crc = 0xFFFFFFFF;
    for (byte x : data) {
      crc ^= x & 0xFF;
      for (int k = 0; k < 8; k++) {
        crc = (crc & 1) != 0 ? (crc >>> 1) ^ 0x82F63B78 : crc >>> 1;
      }
    }
    crc = ~crc;
    return ((crc >>> 15) | (crc << 17)) + 0xa282ead8;
  }
}
