package dev.cairn.spark.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** A failed Spark job in one line, as the command line says it. */
class SparkDemoFailureTest {
  /** What Spark 4.2 throws when a task of a barrier result stage fails. */
  private static final Exception STAGE_FAILED =
      new Exception(
          "Job aborted due to stage failure: Could not recover from a failed barrier ResultStage."
              + " Most recent failure reason: Stage failed because barrier task ResultTask(0, 1)"
              + " finished unsuccessfully.\n"
              + "java.io.IOException: rank 1: the disk is full\n"
              + "\tat dev.cairn.Somewhere.save(Somewhere.java:1)\n");

  @Test
  void aTaskFailureNamesTheRankAndWhatItThrew() {
    assertThat(SparkDemo.failure(STAGE_FAILED, "local[2]", Map.of()))
        .hasMessage("the Spark job failed: rank 1: java.io.IOException: rank 1: the disk is full")
        .hasCause(STAGE_FAILED);
  }

  @Test
  void aSettingARankRefusedIsTheUsersToFix() {
    Map<Integer, String> thrown =
        Map.of(
            0, "java.lang.IllegalArgumentException: the config of run 'demo' changed",
            1, "java.io.UncheckedIOException: rank 0 could not open the run");
    assertThatThrownBy(() -> SparkDemo.failure(STAGE_FAILED, "local[2]", thrown))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("the config of run 'demo' changed");
  }

  @Test
  void aStageTooLargeForTheClusterSaysWhatToDo() {
    Exception tooLarge =
        new Exception(
            "[SPARK-24819]: Barrier execution mode does not allow run a barrier stage that"
                + " requires more slots than the total number of slots in the cluster currently.");
    assertThatThrownBy(() -> SparkDemo.failure(tooLarge, "local[2]", Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("local[2] has fewer free slots")
        .hasMessageContaining("--tasks");
  }

  @Test
  void anythingElseIsSparksFirstLine() {
    Exception other = new Exception("Job 0 cancelled because SparkContext was shut down\nmore");
    assertThat(SparkDemo.failure(other, "local[2]", Map.of()))
        .hasMessage("the Spark job failed: Job 0 cancelled because SparkContext was shut down");
  }
}
