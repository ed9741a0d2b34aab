package dev.cairn.tensorboard;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cairn.events.JsonLines;
import dev.cairn.run.Cairn;
import dev.cairn.run.Run;
import dev.cairn.run.RunFiles;
import dev.cairn.run.RunOptions;
import dev.cairn.tensorboard.proto.DataType;
import dev.cairn.tensorboard.proto.Event;
import dev.cairn.tensorboard.proto.HistogramProto;
import dev.cairn.tensorboard.proto.SessionLog;
import dev.cairn.tensorboard.proto.Summary;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TensorBoardTest {
  @TempDir Path runs;

  @Test
  void knownCrcVectorMatchesTheReadersOwnCrc() {
    // CRC32C("123456789") = 0xE3069283 (RFC 3720); both implementations mask the same value.
    byte[] data = "123456789".getBytes(StandardCharsets.US_ASCII);
    int crc = 0xE3069283;
    int masked = ((crc >>> 15) | (crc << 17)) + 0xa282ead8;
    assertThat(TfRecords.maskedCrc(data, 0, data.length)).isEqualTo(masked);
    assertThat(TfRecordReader.masked(data)).isEqualTo(masked);
  }

  @Test
  void aRunWritesScalarsHistogramsAndConfigThatTensorBoardsSchemaDecodes() throws IOException {
    float[] weights = new float[1000];
    for (int i = 0; i < weights.length; i++) {
      weights[i] = (i % 100) / 10f - 5f;
    }
    try (Run run = Cairn.open(runs, RunOptions.named("r").config(Map.of("lr", 0.1)))) {
      for (int s = 0; s < 10; s++) {
        run.log(s, Map.of("loss", 1.0 / (s + 1), "lr", 0.1));
      }
      run.histogram("weights", 9, weights);
    }
    List<Path> files = eventFiles("r");
    assertThat(files).hasSize(1);
    assertThat(files.get(0).getFileName().toString())
        .matches("events\\.out\\.tfevents\\.\\d+\\..+\\.1");
    TfRecordReader.Result r = TfRecordReader.read(files.get(0));
    assertThat(r.torn()).isFalse();
    assertThat(r.events().get(0).getFileVersion()).isEqualTo("brain.Event:2");
    assertThat(r.events().get(0).getWallTime()).isPositive();

    Summary.Value config = values(r.events(), "config").get(0);
    assertThat(config.getMetadata().getPluginData().getPluginName()).isEqualTo("text");
    assertThat(config.getTensor().getDtype()).isEqualTo(DataType.DT_STRING);
    assertThat(config.getTensor().getTensorShape().getDimCount()).isZero();
    assertThat(config.getTensor().getStringVal(0).toStringUtf8()).contains("\"lr\" : 0.1");

    List<Event> losses = withTag(r.events(), "loss");
    assertThat(losses)
        .extracting(Event::getStep)
        .containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L);
    for (Event e : losses) {
      assertThat(value(e, "loss").getSimpleValue()).isEqualTo((float) (1.0 / (e.getStep() + 1)));
      assertThat(value(e, "lr").getSimpleValue()).isEqualTo(0.1f);
    }

    Event histoEvent = withTag(r.events(), "weights").get(0);
    assertThat(histoEvent.getStep()).isEqualTo(9);
    HistogramProto h = value(histoEvent, "weights").getHisto();
    assertThat(h.getNum()).isEqualTo(1000);
    assertThat(h.getMin()).isEqualTo(-5.0);
    assertThat(h.getMax()).isCloseTo(4.9, org.assertj.core.data.Offset.offset(1e-6));
    assertThat(h.getBucketList().stream().mapToDouble(Double::doubleValue).sum()).isEqualTo(1000);
    assertThat(h.getBucketLimitCount()).isEqualTo(h.getBucketCount());
    assertThat(h.getBucketLimit(h.getBucketLimitCount() - 1)).isEqualTo(h.getMax());
    double[] limits = h.getBucketLimitList().stream().mapToDouble(Double::doubleValue).toArray();
    assertThat(limits).isSorted();
  }

  @Test
  void aResumedSessionRollsToANewFileThatStartsWithASessionStart() throws IOException {
    try (Run run = Cairn.open(runs, RunOptions.named("r"))) {
      for (int s = 0; s < 8; s++) {
        run.log(s, Map.of("loss", 1.0));
      }
    }
    Path first = eventFiles("r").get(0);
    byte[] before = Files.readAllBytes(first);
    try (Run run = Cairn.open(runs, RunOptions.named("r"))) {
      for (int s = 5; s < 10; s++) {
        run.log(s, Map.of("loss", 2.0));
      }
    }
    List<Path> files = eventFiles("r");
    assertThat(files).hasSize(2);
    assertThat(Files.readAllBytes(first)).isEqualTo(before);
    List<Event> second = TfRecordReader.read(files.get(1)).events();
    assertThat(second.get(0).hasFileVersion()).isTrue();
    assertThat(second.get(1).getSessionLog().getStatus()).isEqualTo(SessionLog.SessionStatus.START);
    assertThat(second.get(1).getStep()).isEqualTo(5);
    assertThat(withTag(second, "loss"))
        .extracting(Event::getStep)
        .containsExactly(5L, 6L, 7L, 8L, 9L);
  }

  @Test
  void aTornLastRecordLeavesEveryEarlierRecordReadable() throws IOException {
    try (Run run = Cairn.open(runs, RunOptions.named("r"))) {
      for (int s = 0; s < 20; s++) {
        run.log(s, Map.of("loss", (double) s));
      }
    }
    Path file = eventFiles("r").get(0);
    int complete = TfRecordReader.read(file).events().size();
    long size = Files.size(file);
    // kill -9 while the last record was being written: only part of it reached the file
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
      ch.truncate(size - 7);
    }
    TfRecordReader.Result r = TfRecordReader.read(file);
    assertThat(r.torn()).isTrue();
    assertThat(r.events()).hasSize(complete - 1);
    assertThat(withTag(r.events(), "loss")).extracting(Event::getStep).hasSize(19).endsWith(18L);
    byte[] torn = Files.readAllBytes(file);

    try (Run run = Cairn.open(runs, RunOptions.named("r"))) {
      run.log(19, Map.of("loss", 19.0));
    }
    assertThat(Files.readAllBytes(file)).isEqualTo(torn); // never appended to again
    List<Event> next = TfRecordReader.read(eventFiles("r").get(1)).events();
    assertThat(withTag(next, "loss")).extracting(Event::getStep).containsExactly(19L);
  }

  @Test
  void exportWritesEventFilesForARunFromItsMetrics() throws IOException {
    try (Run run = Cairn.open(runs, RunOptions.named("r").config(Map.of("layers", 3)))) {
      for (int s = 0; s < 6; s++) {
        run.log(s, Map.of("loss", 10.0 - s));
      }
    }
    try (Run run = Cairn.open(runs, RunOptions.named("r").config(Map.of("layers", 3)))) {
      for (int s = 4; s < 8; s++) {
        run.log(s, Map.of("loss", 20.0 - s));
      }
    }
    Path tb = new RunFiles(runs.resolve("r")).tensorboard();
    for (Path p : eventFiles("r")) {
      Files.delete(p);
    }
    Path written = TensorBoardExport.export(runs.resolve("r"));
    assertThat(written.getParent()).isEqualTo(tb);
    List<Event> events = TfRecordReader.read(written).events();
    assertThat(events.get(0).getFileVersion()).isEqualTo("brain.Event:2");
    assertThat(values(events, "config").get(0).getTensor().getStringVal(0).toStringUtf8())
        .contains("\"layers\" : 3");
    List<Event> losses = withTag(events, "loss");
    assertThat(losses)
        .extracting(Event::getStep)
        .containsExactly(0L, 1L, 2L, 3L, 4L, 5L, 4L, 5L, 6L, 7L);
    assertThat(value(losses.get(7), "loss").getSimpleValue()).isEqualTo(15f);
    List<Event> starts = events.stream().filter(Event::hasSessionLog).toList();
    assertThat(starts).extracting(Event::getStep).containsExactly(4L);
    long recordedWall =
        java.time.Instant.parse(
                JsonLines.read(new RunFiles(runs.resolve("r")).metrics())
                    .records()
                    .get(0)
                    .path("time")
                    .asText())
            .toEpochMilli();
    assertThat(losses.get(0).getWallTime()).isEqualTo(recordedWall / 1000.0);

    assertThatThrownBy(() -> TensorBoardExport.export(runs.resolve("r")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("already holds TensorBoard event files");
    assertThat(eventFiles("r")).hasSize(1);
    assertThatThrownBy(() -> TensorBoardExport.export(runs.resolve("nope")))
        .hasMessageContaining("not a run folder");
  }

  private List<Path> eventFiles(String run) throws IOException {
    try (Stream<Path> s = Files.list(new RunFiles(runs.resolve(run)).tensorboard())) {
      List<Path> l =
          new ArrayList<>(
              s.filter(p -> p.getFileName().toString().startsWith("events.out.tfevents."))
                  .toList());
      // the session number is the last part of the name; sort by it (names share the second)
      l.sort((a, b) -> Integer.compare(session(a), session(b)));
      return l;
    }
  }

  private static int session(Path p) {
    String n = p.getFileName().toString();
    String last = n.substring(n.lastIndexOf('.') + 1);
    return last.chars().allMatch(Character::isDigit) ? Integer.parseInt(last) : 0;
  }

  private static List<Event> withTag(List<Event> events, String tag) {
    return events.stream()
        .filter(
            e ->
                e.hasSummary()
                    && e.getSummary().getValueList().stream().anyMatch(v -> v.getTag().equals(tag)))
        .toList();
  }

  private static List<Summary.Value> values(List<Event> events, String tag) {
    return withTag(events, tag).stream().map(e -> value(e, tag)).toList();
  }

  private static Summary.Value value(Event e, String tag) {
    return e.getSummary().getValueList().stream()
        .filter(v -> v.getTag().equals(tag))
        .findFirst()
        .orElseThrow(
            () ->
                new AssertionError(
                    tag + " not in " + Arrays.toString(e.getSummary().getValueList().toArray())));
  }
}
