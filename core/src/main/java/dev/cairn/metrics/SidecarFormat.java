package dev.cairn.metrics;

import java.nio.charset.StandardCharsets;

/**
 * The layout of metrics.bin, a binary transcription of metrics.jsonl that the metrics writer keeps
 * beside it so that a reader can load a long run without parsing JSON. It is a cache: metrics.jsonl
 * stays the truth, and a reader uses the sidecar only for the part of metrics.jsonl it provably
 * covers.
 *
 * <p>The file is a header ({@link #MAGIC}, whose last byte is the version) followed by blocks, each
 * written by one {@code write} after the metrics.jsonl lines it transcribes were handed to the OS.
 * Numbers are little-endian; a block is columnar, so that a reader adds each metric's points in
 * bulk:
 *
 * <pre>
 *   int    body length (bytes)
 *   int    CRC32C of the body
 *   body:  long   jsonlStart      metrics.jsonl byte offset of the block's first line
 *          long   jsonlEnd        offset just past its last line (its newline)
 *          int    lastLineLength  bytes of that last line, newline included
 *          int    lastLineCrc     CRC32C of those bytes: ties the block to metrics.jsonl's content
 *          int    new names, then each: int length, UTF-8 bytes (ids count up from 0 in the file,
 *                 in the order the names first appear with a finite value)
 *          int    records R
 *          long   first step; byte steps: 0 consecutive from the first, 1 listed (R longs follow)
 *          R x long  epoch milliseconds
 *          int    columns, in increasing id order, then each: int name id, int count C,
 *                 byte dense (1: the column has one value per record, in order; 0: C x int record
 *                 index follow, non-decreasing), C x double value
 * </pre>
 *
 * Blocks follow each other in metrics.jsonl: each starts where the previous one ended, or later
 * when lines were not transcribed (a run begun before it had a sidecar, a session killed before its
 * last block); readers parse those lines from metrics.jsonl. A block holds exactly what a reader of
 * the JSON lines would take from them: records whose step it would accept (whole, below {@link
 * #MAX_STEP}), each record's finite values, the last "step" field of a line as its step.
 */
final class SidecarFormat {
  /** "CAIRNMB" and the format version. */
  static final byte[] MAGIC = "CAIRNMB\u0001".getBytes(StandardCharsets.ISO_8859_1);

  /** Block header: body length and CRC32C. */
  static final int BLOCK_HEADER = 8;

  /** A body's smallest size: offsets, last line, counts, first step and its kind. */
  static final int BODY_MIN = 8 + 8 + 4 + 4 + 4 + 4 + 8 + 1 + 4;

  /** Steps at or above this (in magnitude) are not taken from a JSON line: not exact as doubles. */
  static final double MAX_STEP = 9e15;

  /** The first step's kind: the records' steps count up by one from it. */
  static final byte CONSECUTIVE = 0;

  /** The first step's kind: every record's step is listed. */
  static final byte LISTED = 1;

  /** The largest body a reader accepts: bounds its buffer whatever the file says. */
  static final int MAX_BODY = 16 << 20;

  /** Names one sidecar may define; a writer meeting more stops transcribing. */
  static final int MAX_NAMES = 100_000;

  /** UTF-8 bytes all names of one sidecar may take. */
  static final long MAX_NAME_BYTES = 8L << 20;

  private SidecarFormat() {}
}
