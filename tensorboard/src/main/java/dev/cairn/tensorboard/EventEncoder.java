package dev.cairn.tensorboard;

import com.google.protobuf.CodedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * Encodes the few TensorBoard messages Cairn writes (tensorboard/compat/proto/event.proto and
 * summary.proto), by hand with protobuf's CodedOutputStream: the field numbers below are
 * TensorBoard's, and the tests decode the bytes with classes protoc generated from that schema.
 */
final class EventEncoder {
  static final String FILE_VERSION = "brain.Event:2";

  // Event
  private static final int EVENT_WALL_TIME = 1;
  private static final int EVENT_STEP = 2;
  private static final int EVENT_FILE_VERSION = 3;
  private static final int EVENT_SUMMARY = 5;
  private static final int EVENT_SESSION_LOG = 7;
  // SessionLog
  private static final int SESSION_LOG_STATUS = 1;
  private static final int SESSION_LOG_MSG = 3;
  private static final int SESSION_START = 1;
  // Summary and Summary.Value
  private static final int SUMMARY_VALUE = 1;
  private static final int VALUE_TAG = 1;
  private static final int VALUE_SIMPLE = 2;
  private static final int VALUE_HISTO = 5;
  private static final int VALUE_TENSOR = 8;
  private static final int VALUE_METADATA = 9;
  // SummaryMetadata and its PluginData
  private static final int METADATA_PLUGIN_DATA = 1;
  private static final int PLUGIN_NAME = 1;
  // HistogramProto
  private static final int HISTO_MIN = 1;
  private static final int HISTO_MAX = 2;
  private static final int HISTO_NUM = 3;
  private static final int HISTO_SUM = 4;
  private static final int HISTO_SUM_SQUARES = 5;
  private static final int HISTO_BUCKET_LIMIT = 6;
  private static final int HISTO_BUCKET = 7;
  // TensorProto, TensorShapeProto
  private static final int TENSOR_DTYPE = 1;
  private static final int TENSOR_SHAPE = 2;
  private static final int TENSOR_STRING_VAL = 8;
  private static final int DT_STRING = 7;

  private EventEncoder() {}

  /** The first record of every event file. */
  static byte[] fileVersion(double wallTime) {
    return message(
        out -> {
          out.writeDouble(EVENT_WALL_TIME, wallTime);
          out.writeString(EVENT_FILE_VERSION, FILE_VERSION);
        });
  }

  /**
   * A session restarted at {@code step}: TensorBoard drops the points of earlier files at this step
   * and after (they were logged by a session that crashed before its next checkpoint, and are
   * logged again now).
   */
  static byte[] sessionStart(double wallTime, long step, String message) {
    byte[] log =
        message(
            out -> {
              out.writeEnum(SESSION_LOG_STATUS, SESSION_START);
              out.writeString(SESSION_LOG_MSG, message);
            });
    return event(wallTime, step, EVENT_SESSION_LOG, log);
  }

  /** One metrics record: a summary with a simple_value per finite value. */
  static byte[] scalars(double wallTime, long step, String[] keys, double[] values, int n) {
    byte[] summary =
        message(
            out -> {
              for (int i = 0; i < n; i++) {
                if (!Double.isFinite(values[i])) {
                  continue; // metrics.jsonl writes null for these; TensorBoard gets no point
                }
                String tag = keys[i];
                float v = (float) values[i];
                out.writeByteArray(
                    SUMMARY_VALUE,
                    message(
                        o -> {
                          o.writeString(VALUE_TAG, tag);
                          o.writeFloat(VALUE_SIMPLE, v);
                        }));
              }
            });
    return event(wallTime, step, EVENT_SUMMARY, summary);
  }

  /** A histogram summary (TensorBoard's Histograms and Distributions tabs). */
  static byte[] histogram(double wallTime, long step, String tag, Histogram h) {
    byte[] histo =
        message(
            out -> {
              out.writeDouble(HISTO_MIN, h.min());
              out.writeDouble(HISTO_MAX, h.max());
              out.writeDouble(HISTO_NUM, h.count());
              out.writeDouble(HISTO_SUM, h.sum());
              out.writeDouble(HISTO_SUM_SQUARES, h.sumSquares());
              packed(out, HISTO_BUCKET_LIMIT, h.limits());
              packed(out, HISTO_BUCKET, h.counts());
            });
    byte[] value =
        message(
            out -> {
              out.writeString(VALUE_TAG, tag);
              out.writeByteArray(VALUE_HISTO, histo);
            });
    return event(wallTime, step, EVENT_SUMMARY, summaryOf(value));
  }

  /**
   * A text summary as TensorBoard's text plugin reads it: a string tensor whose metadata names the
   * plugin "text"; the text is Markdown.
   */
  static byte[] text(double wallTime, long step, String tag, String markdown) {
    byte[] plugin = message(out -> out.writeString(PLUGIN_NAME, "text"));
    byte[] metadata = message(out -> out.writeByteArray(METADATA_PLUGIN_DATA, plugin));
    byte[] tensor =
        message(
            out -> {
              out.writeEnum(TENSOR_DTYPE, DT_STRING);
              out.writeByteArray(TENSOR_SHAPE, new byte[0]); // rank 0: one string
              out.writeByteArray(TENSOR_STRING_VAL, markdown.getBytes(StandardCharsets.UTF_8));
            });
    byte[] value =
        message(
            out -> {
              out.writeString(VALUE_TAG, tag);
              out.writeByteArray(VALUE_METADATA, metadata);
              out.writeByteArray(VALUE_TENSOR, tensor);
            });
    return event(wallTime, step, EVENT_SUMMARY, summaryOf(value));
  }

  private static byte[] summaryOf(byte[] value) {
    return message(out -> out.writeByteArray(SUMMARY_VALUE, value));
  }

  private static byte[] event(double wallTime, long step, int field, byte[] body) {
    return message(
        out -> {
          out.writeDouble(EVENT_WALL_TIME, wallTime);
          if (step != 0) {
            out.writeInt64(EVENT_STEP, step);
          }
          out.writeByteArray(field, body);
        });
  }

  private static void packed(CodedOutputStream out, int field, double[] values) throws IOException {
    out.writeTag(field, com.google.protobuf.WireFormat.WIRETYPE_LENGTH_DELIMITED);
    out.writeUInt32NoTag(values.length * Double.BYTES);
    for (double v : values) {
      out.writeDoubleNoTag(v);
    }
  }

  @FunctionalInterface
  private interface Body {
    void write(CodedOutputStream out) throws IOException;
  }

  private static byte[] message(Body body) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64);
    CodedOutputStream out = CodedOutputStream.newInstance(bytes);
    try {
      body.write(out);
      out.flush();
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
    }
    return bytes.toByteArray();
  }
}
