package dev.cairn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.cairn.run.Cairn;
import dev.cairn.run.Run;
import dev.cairn.run.RunOptions;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConsoleProgressTest {
  @TempDir Path runs;

  @Test
  void aPlainLineSaysStepRateEtaLossAndCheckpoint() throws Exception {
    String line =
        ConsoleProgress.line(
            new ObjectMapper()
                .readTree(
                    "{\"step\":1200,\"total_steps\":10000,\"percent\":12.0,"
                        + "\"steps_per_second\":35.25,\"eta_seconds\":250,\"loss\":0.41234,"
                        + "\"last_checkpoint\":{\"step\":1000,\"age_seconds\":120}}"));
    assertThat(line)
        .isEqualTo(
            "step 1200/10000 (12.0%), 35.25 steps/s, ETA 4m 10s, loss 0.4123,"
                + " last checkpoint step 1000 (2m ago)");
  }

  @Test
  void onATerminalItDrawsABarWithTheLoss() throws Exception {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    try (Run run = Cairn.open(runs, RunOptions.named("bar").totalSteps(100));
        ConsoleProgress p =
            ConsoleProgress.attach(
                run,
                100,
                new PrintStream(buf, true, StandardCharsets.UTF_8),
                true,
                Duration.ofSeconds(1))) {
      for (int s = 0; s < 40; s++) {
        run.log(s, Map.of("loss", 0.5));
      }
      run.metrics().flush();
    }
    String shown = buf.toString(StandardCharsets.UTF_8);
    assertThat(shown).contains("bar").contains("40/100").contains("loss 0.5");
  }

  @Test
  void offATerminalItPrintsLines() throws Exception {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    try (Run run = Cairn.open(runs, RunOptions.named("plain").totalSteps(10));
        ConsoleProgress p =
            ConsoleProgress.attach(
                run,
                10,
                new PrintStream(buf, true, StandardCharsets.UTF_8),
                false,
                Duration.ofHours(1))) {
      run.log(4, Map.of("loss", 2.0));
      run.metrics().flush();
    }
    assertThat(buf.toString(StandardCharsets.UTF_8))
        .startsWith("step 5/10 (50.0%)")
        .contains("loss 2.000");
  }
}
