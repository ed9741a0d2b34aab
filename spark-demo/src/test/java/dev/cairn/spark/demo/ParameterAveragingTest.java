package dev.cairn.spark.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The messages of the averaging and their mean, without Spark. */
class ParameterAveragingTest {
  private static final float[] RANK_0 = {1f, -2.5f, 0.1f, 1e-8f, Float.MAX_VALUE / 4};
  private static final float[] RANK_1 = {3f, 2.5f, 0.2f, -1e-8f, Float.MAX_VALUE / 4};
  private static final float[] RANK_2 = {-1f, 0f, 0.3f, 3e-8f, Float.MAX_VALUE / 4};

  @Test
  void theMeanIsTheSameWhateverOrderSparkGivesTheMessagesIn() {
    String m0 = ParameterAveraging.encode(0, RANK_0, 0, RANK_0.length);
    String m1 = ParameterAveraging.encode(1, RANK_1, 0, RANK_1.length);
    String m2 = ParameterAveraging.encode(2, RANK_2, 0, RANK_2.length);
    float[] inOrder = new float[5];
    float[] shuffled = new float[5];
    ParameterAveraging.mean(new String[] {m0, m1, m2}, 3, inOrder, 0, 5);
    ParameterAveraging.mean(new String[] {m2, m0, m1}, 3, shuffled, 0, 5);

    assertThat(shuffled).isEqualTo(inOrder);
    assertThat(inOrder[0]).isEqualTo(1f);
    assertThat(inOrder[1]).isEqualTo(0f);
    assertThat(inOrder[2]).isEqualTo((float) ((0.1f + (double) 0.2f + 0.3f) / 3));
    assertThat(inOrder[3]).isEqualTo((float) ((1e-8f - (double) 1e-8f + 3e-8f) / 3));
    // Summed in double: three large floats do not overflow on the way to their mean.
    assertThat(inOrder[4]).isEqualTo(Float.MAX_VALUE / 4);
  }

  @Test
  void aSliceLandsAtItsPlace() {
    float[] out = {9f, 9f, 9f, 9f, 9f};
    ParameterAveraging.mean(
        new String[] {
          ParameterAveraging.encode(0, RANK_0, 1, 3), ParameterAveraging.encode(1, RANK_1, 1, 3)
        },
        2,
        out,
        1,
        2);
    assertThat(out).containsExactly(9f, 0f, (float) ((0.1f + (double) 0.2f) / 2), 9f, 9f);
  }

  @Test
  void aMissingRepeatedOrShortReplicaIsRefused() {
    String m0 = ParameterAveraging.encode(0, RANK_0, 0, 5);
    String m1 = ParameterAveraging.encode(1, RANK_1, 0, 5);
    float[] out = new float[5];
    assertThatThrownBy(() -> ParameterAveraging.mean(new String[] {m0, m0}, 2, out, 0, 5))
        .hasMessageContaining("rank 0 again");
    assertThatThrownBy(() -> ParameterAveraging.mean(new String[] {m1}, 2, out, 0, 5))
        .hasMessageContaining("no parameters from rank 0");
    String short1 = ParameterAveraging.encode(1, RANK_1, 0, 4);
    assertThatThrownBy(() -> ParameterAveraging.mean(new String[] {m0, short1}, 2, out, 0, 5))
        .hasMessageContaining("rank 1 sent 4 parameters, not 5");
  }

  @Test
  void theDemosNetworkFitsOneMessageAndABigOneIsSliced() {
    long limit = 128L << 20; // Spark's default spark.rpc.message.maxSize
    int hidden = 256; // the demo's default: 32 -> 256 -> 256 -> 10
    int parameters = 32 * hidden + hidden + hidden * hidden + hidden + hidden * 10 + 10;
    assertThat(ParameterAveraging.floatsPerMessage(limit, 8)).isGreaterThan(parameters);
    int perMessage = ParameterAveraging.floatsPerMessage(limit, 2);
    long answerChars = 2L * (4L * perMessage * Float.BYTES / 3 + 8);
    assertThat(answerChars).isLessThanOrEqualTo(limit / 2 + 64);
    int bigHidden = 4096;
    long big = 32L * bigHidden + bigHidden + (long) bigHidden * bigHidden + bigHidden;
    assertThat(big).isGreaterThan(perMessage);
  }
}
