package dev.cairn.metrics;

import dev.cairn.events.EventType;
import dev.cairn.events.Events;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * Keeps metrics.bin ({@link SidecarFormat}) in step with metrics.jsonl. Used by the metrics writer
 * thread only, never by the training thread: it transcribes each line as it is formatted and writes
 * one block each time the writer hands metrics.jsonl's buffered lines to the OS, after them. It is
 * never synced: a cache that a reader checks against metrics.jsonl, not a record of its own. A
 * failure stops the sidecar (with a warning event), never the metrics; so does a record it could
 * not transcribe faithfully (a line a reader would skip as too long, too many names): readers then
 * parse metrics.jsonl from where the sidecar ends.
 */
final class SidecarWriter {
  private static final String STEP = "step";

  /**
   * A block is written once it holds this many records or is this old, not at every write of
   * metrics.jsonl: few large blocks read faster than many small ones, and what a block has not yet
   * covered a reader parses from metrics.jsonl.
   */
  static final int BLOCK_RECORDS = 4096;

  private static final long BLOCK_NANOS = 1_000_000_000L;

  private final Path file;
  private final Path jsonl;
  private final Events events;
  private final Map<String, Integer> ids = new HashMap<>();
  private final CRC32C crc = new CRC32C();
  private FileChannel channel;
  private long nameBytes;
  private final List<byte[]> names = new ArrayList<>(); // defined since the last block
  private final SidecarBlock block = new SidecarBlock();
  private long pendingStart;
  private long pendingEnd;
  private int pendingRecords;
  private long pendingSince;
  private byte[] lastLine;
  private boolean stopped;

  SidecarWriter(Path file, Path jsonl, Events events) {
    this.file = file;
    this.jsonl = jsonl;
    this.events = events;
  }

  /**
   * Opens the sidecar to continue a metrics.jsonl of {@code jsonlSize} bytes. An existing sidecar
   * keeps its blocks up to the first one torn, damaged or past that size, when the last kept
   * block's line is in metrics.jsonl where it says; the next block starts at that size, and readers
   * parse the lines between (those of a session killed before its last block). Otherwise the
   * sidecar starts again, empty, from that size (readers parse metrics.jsonl before it).
   */
  void start(long jsonlSize) {
    try {
      long keep = -1;
      List<String> known = List.of();
      SidecarReader r = SidecarReader.open(file, jsonlSize);
      if (r != null) {
        try (r) {
          while (r.next()) {
            // names and offsets are all that continuing needs; the records are skipped
          }
          if (r.end() >= 0 && r.verify(jsonl)) {
            keep = r.validLength();
            known = r.names();
          }
        }
      }
      channel =
          FileChannel.open(
              file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      if (keep >= 0) {
        channel.truncate(keep);
        channel.position(keep);
        for (String name : known) {
          ids.put(name, ids.size());
          nameBytes += name.getBytes(StandardCharsets.UTF_8).length;
        }
      } else {
        channel.truncate(0);
        writeFully(ByteBuffer.wrap(SidecarFormat.MAGIC));
      }
      pendingStart = jsonlSize;
      pendingEnd = jsonlSize;
    } catch (IOException | RuntimeException e) {
      fail("could not be opened", e);
    }
  }

  /** Transcribes one record whose metrics.jsonl line (newline included) is {@code line}. */
  void add(long step, long millis, String[] k, double[] v, int n, byte[] line) {
    if (stopped) {
      return;
    }
    if (line.length - 1 > JsonlTail.DEFAULT_MAX_LINE_BYTES || !roomForNames(k, v, n)) {
      stop();
      return;
    }
    if (pendingEnd == pendingStart) {
      pendingSince = System.nanoTime();
    }
    pendingEnd += line.length;
    pendingRecords++;
    lastLine = line;
    double stepValue = step; // what a reader of the line takes: the number as a double
    for (int i = 0; i < n; i++) {
      if (k[i].equals(STEP) && Double.isFinite(v[i])) {
        stepValue = v[i]; // the line's later "step" field wins for a reader
      }
    }
    if (stepValue != Math.rint(stepValue) || Math.abs(stepValue) >= SidecarFormat.MAX_STEP) {
      return; // a reader skips the line: the block covers it with no record
    }
    int r = block.record((long) stepValue, millis);
    for (int i = 0; i < n; i++) {
      if (Double.isFinite(v[i]) && !k[i].equals(STEP)) { // null in the line: a reader skips it
        block.value(id(k[i]), r, v[i]);
      }
    }
  }

  private boolean roomForNames(String[] k, double[] v, int n) {
    int more = 0;
    long bytes = 0;
    for (int i = 0; i < n; i++) {
      if (Double.isFinite(v[i]) && !ids.containsKey(k[i])) {
        more++;
        bytes += k[i].length() * 3L; // UTF-8's most per char
      }
    }
    return more == 0
        || (ids.size() + more <= SidecarFormat.MAX_NAMES
            && nameBytes + bytes <= SidecarFormat.MAX_NAME_BYTES);
  }

  private int id(String name) {
    Integer id = ids.get(name);
    if (id != null) {
      return id;
    }
    int next = ids.size();
    ids.put(name, next);
    byte[] utf8 = name.getBytes(StandardCharsets.UTF_8);
    nameBytes += utf8.length;
    names.add(utf8);
    return next;
  }

  /**
   * Says that the lines of every record added so far are written to metrics.jsonl: a block vouches
   * only for lines already there. Writes them as one block when {@code now} is true, when they are
   * many or old, or when transcription stopped.
   */
  void linesWritten(boolean now) {
    if (now
        || stopped
        || pendingRecords >= BLOCK_RECORDS
        || (pendingEnd > pendingStart && System.nanoTime() - pendingSince >= BLOCK_NANOS)) {
      flush();
    }
  }

  private void flush() {
    if (channel == null) {
      return;
    }
    if (pendingEnd == pendingStart) {
      if (stopped) {
        closeChannel();
      }
      return;
    }
    try {
      crc.reset();
      crc.update(lastLine, 0, lastLine.length);
      ByteBuffer out =
          block.encode(pendingStart, pendingEnd, lastLine.length, (int) crc.getValue(), names);
      crc.reset();
      crc.update(out.array(), SidecarFormat.BLOCK_HEADER, out.limit() - SidecarFormat.BLOCK_HEADER);
      out.putInt(4, (int) crc.getValue());
      writeFully(out);
      names.clear();
      block.clear();
      pendingStart = pendingEnd;
      pendingRecords = 0;
      if (stopped) {
        closeChannel();
      }
    } catch (IOException | RuntimeException e) {
      fail("could not be written", e);
    }
  }

  /**
   * Closes the file. Records not yet in a block are dropped: their lines may never have reached
   * metrics.jsonl, so no block may vouch for them (a clean close writes them first, with {@code
   * linesWritten(true)}).
   */
  void close() {
    closeChannel();
  }

  /**
   * Ends transcription for this session. What is pending is still written, at the next flush: its
   * lines may not be in metrics.jsonl yet.
   */
  private void stop() {
    stopped = true;
  }

  private void fail(String what, Exception e) {
    stopped = true;
    closeChannel();
    events.emit(
        EventType.WARNING,
        -1,
        "metrics.bin "
            + what
            + " ("
            + e
            + "); readers parse metrics.jsonl instead, which stays complete");
  }

  private void closeChannel() {
    FileChannel c = channel;
    channel = null;
    if (c != null) {
      try {
        c.close();
      } catch (IOException e) {
        // Nothing is lost: every block was written, none is synced on purpose.
      }
    }
  }

  private void writeFully(ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      channel.write(b);
    }
  }
}
