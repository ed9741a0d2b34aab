package dev.cairn.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A real child JVM killed with -9 at 20 random instants (some during saves) and resumed each time
 * ends with checkpoint tensors, optimizer state, data position and RNG state byte-identical to a
 * run never interrupted; no resume starts before a checkpoint that was reported durable, and no
 * committed checkpoint ever fails verification.
 */
class ExactResumeTest {
  @TempDir Path dir;

  @Test
  void twentyKillsAtRandomInstantsChangeNothing() throws Exception {
    Torture.Result r =
        Torture.run(dir, 20, 1500, 10, 100_000, 7, System.getProperty("java.class.path"));
    assertThat(r.kills()).isEqualTo(20);
    // Each kill waits for its session to start and restore (the child's signal), so every kill
    // interrupted a session of its own, on a quiet machine or a loaded one.
    assertThat(r.sessions()).as("the run was resumed again and again").isGreaterThan(r.kills());
    assertThat(r.corruptLoads()).isZero();
    assertThat(r.lostSteps()).isZero();
    assertThat(r.difference()).isNull();
    assertThat(r.identical()).isTrue();
  }
}
