package dev.cairn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.cairn.checkpoint.Checkpoint;
import dev.cairn.checkpoint.CheckpointStore;
import dev.cairn.safetensors.Tensor;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CliTest {
  @TempDir Path dir;
  Path run;

  record Result(int code, String out, String err) {}

  static Result cairn(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Result(code, out.toString(), err.toString());
  }

  @BeforeEach
  void aRunWithTwoCheckpoints() throws IOException {
    run = dir.resolve("runs/mlp");
    for (long step : new long[] {10, 20}) {
      // Step 20 records each file's SHA-256 too; step 10 only the CRC32C (the default).
      try (CheckpointStore store =
          CheckpointStore.builder(run.resolve("checkpoints")).sha256(step == 20).open()) {
        store.save(
            Checkpoint.at(step)
                .name(step == 20 ? "best" : null)
                .metric("val_loss", 0.5)
                .tensors(
                    "model",
                    List.of(
                        Tensor.of("fc1.weight", new float[12], 3, 4),
                        Tensor.of("fc1.bias", new long[4], 4)),
                    Map.of("framework", "test"))
                .json("state", JsonNodeFactory.instance.objectNode().put("step", step))
                .build());
      }
    }
  }

  @Test
  void helpListsTheCommands() {
    Result r = cairn("--help");
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("inspect", "verify", "bench");
  }

  @Test
  void inspectShowsPartsTensorsAndVerification() {
    Result r = cairn("inspect", run.resolve("checkpoints/step-20").toString());
    assertThat(r.code()).isZero();
    assertThat(r.out())
        .contains("step 20 (name: best)")
        .contains("part model (tensors, model.safetensors")
        .contains("fc1.weight")
        .contains("F32")
        .contains("[3,4]")
        .contains("I64")
        .contains("verification: ok (sha256+crc32c)");
    assertThat(cairn("inspect", run.resolve("checkpoints/step-10").toString()).out())
        .contains("verification: ok (crc32c)");
  }

  @Test
  void inspectJsonIsOneParsableObject() throws IOException {
    Result r = cairn("inspect", "--json", run.resolve("checkpoints/step-10").toString());
    assertThat(r.code()).isZero();
    JsonNode j = new ObjectMapper().readTree(r.out());
    assertThat(j.get("step").asLong()).isEqualTo(10);
    JsonNode fc1 = null;
    for (JsonNode t : j.get("parts").get(0).get("tensors")) {
      if (t.get("name").asText().equals("fc1.weight")) {
        fc1 = t;
      }
    }
    assertThat(fc1).as("fc1.weight is listed").isNotNull();
    assertThat(fc1.get("shape").toString()).isEqualTo("[3,4]");
    assertThat(j.get("parts").get(0).get("tensor_metadata").get("framework").asText())
        .isEqualTo("test");
    assertThat(j.get("verification").get("ok").asBoolean()).isTrue();
  }

  @Test
  void inspectReadsASingleSafetensorsFile() {
    Result r = cairn("inspect", run.resolve("checkpoints/step-10/model.safetensors").toString());
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("fc1.bias").contains("metadata framework = test");
  }

  @Test
  void verifyPassesOnIntactCheckpointsAndNamesADamagedFile() throws IOException {
    Result ok = cairn("verify", dir.resolve("runs").toString());
    assertThat(ok.code()).isZero();
    assertThat(ok.out()).contains("2 checkpoints verified, 0 damaged");

    Path model = run.resolve("checkpoints/step-10/model.safetensors");
    byte[] b = Files.readAllBytes(model);
    b[b.length - 1] ^= 1;
    Files.write(model, b);
    Result bad = cairn("verify", dir.resolve("runs").toString());
    assertThat(bad.code()).isEqualTo(1);
    assertThat(bad.out())
        .contains("BAD")
        .contains("step-10")
        .contains("model.safetensors")
        .contains("2 checkpoints verified, 1 damaged");

    Result inspect = cairn("inspect", "--info-only", run.resolve("checkpoints/step-10").toString());
    assertThat(inspect.code()).as("sizes are intact; --info-only skips checksums").isZero();
    assertThat(cairn("inspect", run.resolve("checkpoints/step-10").toString()).code()).isEqualTo(1);
  }

  @Test
  void badInputGivesOneLineAndANonZeroExit() {
    for (String[] args :
        new String[][] {
          {"inspect", dir.resolve("nope").toString()},
          {"verify", dir.resolve("nope").toString()},
          {"verify"},
          {"bench", "save", "--bytes", "lots", "--dir", dir.toString()},
          {"bench", "save", "--bytes", "1MiB"},
          {"frobnicate"},
        }) {
      Result r = cairn(args);
      assertThat(r.code()).as(String.join(" ", args)).isNotZero();
      String first = r.err().lines().findFirst().orElse("");
      assertThat(first).as(String.join(" ", args)).startsWith("cairn");
      assertThat(r.err()).doesNotContain("Exception").doesNotContain("\tat ");
    }
  }

  @Test
  void benchSavePrintsOneJsonLineWithTheContractFields() throws IOException {
    Result r =
        cairn(
            "bench",
            "save",
            "--bytes",
            "4MiB",
            "--dir",
            dir.resolve("b").toString(),
            "--json",
            "--repeat",
            "1");
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(r.out().lines().count()).isEqualTo(1);
    JsonNode j = new ObjectMapper().readTree(r.out());
    assertThat(j.get("bytes").asLong()).isEqualTo(4L << 20);
    for (String f :
        new String[] {
          "save_seconds",
          "restore_seconds",
          "stall_seconds",
          "stall_first_seconds",
          "memcpy_seconds",
          "memcpy_first_seconds",
          "stall_first_to_memcpy",
          "stall_first_to_memcpy_first"
        }) {
      assertThat(j.get(f).asDouble()).as(f).isPositive();
    }
    try (var s = Files.list(dir.resolve("b"))) {
      assertThat(s.count()).as("the benchmark cleans up after itself").isZero();
    }
  }

  @Test
  void benchCheckpointsPrintsOneJsonLinePerCount() throws IOException {
    Result r =
        cairn(
            "bench",
            "checkpoints",
            "--dir",
            dir.resolve("c").toString(),
            "--counts",
            "2,3",
            "--repeat",
            "1",
            "--json");
    assertThat(r.code()).as(r.err()).isZero();
    List<String> lines = r.out().lines().toList();
    assertThat(lines).hasSize(2);
    ObjectMapper json = new ObjectMapper();
    assertThat(json.readTree(lines.get(0)).get("checkpoints").asInt()).isEqualTo(2);
    JsonNode three = json.readTree(lines.get(1));
    assertThat(three.get("checkpoints").asInt()).isEqualTo(3);
    assertThat(three.get("listMillis").asDouble()).isPositive();
    assertThat(three.get("retentionMillis").asDouble()).isPositive();
    assertThat(three.get("firstRetentionMillis").asDouble()).isPositive();
  }

  @Test
  void benchDemoPrintsItsRatiosAndTheTrainingThreadsCpuTime() throws IOException {
    Files.createDirectories(dir.resolve("d"));
    Result r =
        cairn(
            "bench",
            "demo",
            "--dir",
            dir.resolve("d").toString(),
            "--steps",
            "800",
            "--block",
            "200",
            "--json");
    assertThat(r.code()).as(r.err()).isZero();
    JsonNode j = new ObjectMapper().readTree(r.out());
    // 4 block pairs, the first 2 dropped as warm-up.
    assertThat(j.get("pairs").asInt()).isEqualTo(2);
    for (String f :
        new String[] {
          "median_ratio",
          "control_median_ratio",
          "vs_loss_reading_median_ratio",
          "cpu_median_ratio",
          "control_cpu_median_ratio",
          "plain_steps_per_second",
          "loss_reading_plain_steps_per_second"
        }) {
      assertThat(j.get(f).asDouble()).as(f).isPositive().isFinite();
    }
    assertThat(j.get("cpu_extra_us_per_step").asDouble()).isFinite();
    try (var s = Files.list(dir.resolve("d"))) {
      assertThat(s.count()).as("the benchmark cleans up after itself").isZero();
    }
  }

  @Test
  void benchLogTakesTheScalarsPerCall() throws IOException {
    Result r =
        cairn(
            "bench",
            "log",
            "--dir",
            dir.resolve("l").toString(),
            "--scalars",
            "100",
            "--batches",
            "2",
            "--calls",
            "100",
            "--json");
    assertThat(r.code()).as(r.err()).isZero();
    JsonNode j = new ObjectMapper().readTree(r.out());
    assertThat(j.get("scalars_per_call").asInt()).isEqualTo(100);
    assertThat(j.get("records_per_call").asInt()).isEqualTo(4);
    assertThat(j.get("ns_per_scalar").asDouble()).isPositive();
  }

  @Test
  void benchNdlistReadsBackWhatItSaved() throws IOException {
    Result r =
        cairn(
            "bench",
            "ndlist",
            "--bytes",
            "1MiB",
            "--dir",
            dir.resolve("n").toString(),
            "--repeat",
            "2",
            "--json");
    assertThat(r.code()).as(r.err()).isZero();
    JsonNode j = new ObjectMapper().readTree(r.out());
    assertThat(j.get("bytes").asLong()).isEqualTo(1L << 20);
    assertThat(j.get("file_bytes").asLong()).isGreaterThan(1L << 20);
    assertThat(j.get("save_seconds").asDouble()).isPositive();
    assertThat(j.get("restore_seconds").asDouble()).isPositive();
    try (var s = Files.list(dir.resolve("n"))) {
      assertThat(s.count()).as("the benchmark cleans up after itself").isZero();
    }
  }
}
