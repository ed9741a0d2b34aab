package dev.cairn.spark.demo;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cairn.cli.Main;
import dev.cairn.cli.demo.DemoRuns;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code cairn demo --spark local[2]} in this JVM (the runner is on the class path, so the command
 * runs the driver here and Spark runs the two tasks here too): one run, checkpoints of two shares,
 * and replicas equal exactly at the steps they were averaged.
 */
@Timeout(300)
class SparkDemoTest {
  @TempDir Path runs;

  @Test
  void twoTasksTrainOneRunWhoseReplicasAreEqualAfterEachAveraging() throws Exception {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    // Saves at 50, 100, 150 and the final 160 (the last three kept); the replicas are averaged
    // after every 25 steps, so at 100 and 150 they are one model and at 160 two.
    int code =
        Main.run(
            new String[] {
              "demo",
              "--spark",
              "local[2]",
              "--dir",
              runs.toString(),
              "--steps",
              "160",
              "--hidden",
              "32",
              "--average-every",
              "25",
              "--checkpoint-every-steps",
              "50",
              "--checkpoint-every",
              "0",
              "--validate-every",
              "1000",
              "--no-plots"
            },
            new PrintWriter(out, true),
            new PrintWriter(err, true));

    assertThat(code).as(err.toString()).isZero();
    assertThat(out.toString())
        .contains("a Spark barrier job on local[2]")
        .contains("finished " + runs.resolve("demo") + " at step 160")
        .contains("final checkpoint: " + runs.resolve("demo/checkpoints/step-160"));
    try (Stream<Path> s = Files.list(runs)) {
      assertThat(s.map(p -> p.getFileName().toString())).containsExactly("demo");
    }
    Path run = runs.resolve("demo");
    JsonNode config = new ObjectMapper().readTree(run.resolve("run.json").toFile()).get("config");
    assertThat(config.get("ranks").asInt()).isEqualTo(2);
    assertThat(config.get("average_every").asInt()).isEqualTo(25);
    assertThat(run.resolve("ranks/rank-1/metrics.jsonl")).isNotEmptyFile();

    for (int step : List.of(100, 150, 160)) {
      Path c = run.resolve("checkpoints/step-" + step);
      assertThat(DemoRuns.worldSize(c)).isEqualTo(2);
      assertThat(DemoRuns.tensors(c, 0, "model")).hasSize(6);
      if (step % 25 == 0) {
        assertThat(DemoRuns.tensors(c, 1, "model"))
            .as("step %d", step)
            .isEqualTo(DemoRuns.tensors(c, 0, "model"));
      } else {
        assertThat(DemoRuns.tensors(c, 1, "model"))
            .as("step %d", step)
            .isNotEqualTo(DemoRuns.tensors(c, 0, "model"));
      }
      // Each task keeps its own optimizer moments, and its place in its half of the data.
      assertThat(DemoRuns.tensors(c, 1, "optimizer"))
          .isNotEqualTo(DemoRuns.tensors(c, 0, "optimizer"));
      for (int rank = 0; rank < 2; rank++) {
        JsonNode data = DemoRuns.state(c, rank).get("data");
        long examples = step * 64L; // batch size 64; an epoch is each task's 8192 examples
        assertThat(data.get("epoch").asLong()).isEqualTo(examples / 8192);
        assertThat(data.get("position").asLong()).isEqualTo(examples % 8192);
      }
    }
  }
}
