package dev.cairn.cli.demo;

import org.apache.commons.rng.UniformRandomProvider;
import org.apache.commons.rng.simple.RandomSource;

/**
 * The demo's data set, generated from the seed so that nothing is downloaded and every process sees
 * the same numbers: each of the classes is a mixture of two Gaussian blobs in feature space (so a
 * linear model is not enough and the MLP has something to learn), with noise that makes the classes
 * overlap a little. The order of each epoch is a permutation drawn from (seed, epoch), so the batch
 * of any step is known without replaying earlier steps.
 */
final class SyntheticData {
  final int features;
  final int classes;
  final int trainSize;
  final int valSize;
  final float[] trainX;
  final float[] trainY;
  final float[] valX;
  final float[] valY;
  private final long seed;
  private final int rank;
  private final int world;
  private final int[] members;
  private long permutationEpoch = -1;
  private int[] permutation;

  SyntheticData(long seed, int features, int classes, int trainSize, int valSize) {
    this(seed, features, classes, trainSize, valSize, 0, 1);
  }

  /**
   * The partition of rank {@code rank} of {@code world}: the training examples whose index modulo
   * {@code world} is the rank, in an order of its own each epoch; the validation split is whole.
   * One rank of one is the whole set, in the order a process alone uses.
   */
  SyntheticData(
      long seed, int features, int classes, int trainSize, int valSize, int rank, int world) {
    this.seed = seed;
    this.rank = rank;
    this.world = world;
    this.features = features;
    this.classes = classes;
    this.trainSize = trainSize;
    this.valSize = valSize;
    UniformRandomProvider rng = RandomSource.XO_RO_SHI_RO_128_PP.create(new long[] {seed, 0x5eed});
    float[][] centers = new float[classes * 2][features];
    for (float[] c : centers) {
      for (int j = 0; j < features; j++) {
        c[j] = (float) (gaussian(rng) * 1.0);
      }
    }
    trainX = new float[trainSize * features];
    trainY = new float[trainSize];
    valX = new float[valSize * features];
    valY = new float[valSize];
    fill(rng, centers, trainX, trainY, trainSize);
    fill(rng, centers, valX, valY, valSize);
    if (world > 1) {
      members = new int[(trainSize - rank + world - 1) / world];
      for (int i = 0; i < members.length; i++) {
        members[i] = rank + i * world;
      }
    } else {
      members = null;
    }
  }

  /** The examples in one epoch of this partition. */
  int epochSize() {
    return members == null ? trainSize : members.length;
  }

  private void fill(UniformRandomProvider rng, float[][] centers, float[] x, float[] y, int n) {
    for (int i = 0; i < n; i++) {
      int label = rng.nextInt(classes);
      float[] c = centers[label * 2 + rng.nextInt(2)];
      y[i] = label;
      for (int j = 0; j < features; j++) {
        x[i * features + j] = c[j] + (float) (gaussian(rng) * 1.5);
      }
    }
  }

  /** Box-Muller on the provider's doubles: the same numbers on every JDK. */
  private static double gaussian(UniformRandomProvider rng) {
    double u1 = 1.0 - rng.nextDouble();
    double u2 = rng.nextDouble();
    return Math.sqrt(-2.0 * Math.log(u1)) * Math.cos(2.0 * Math.PI * u2);
  }

  /** The indices of the training examples of {@code epoch}, in the order they are used. */
  int[] order(long epoch) {
    if (epoch != permutationEpoch) {
      int n = epochSize();
      int[] p = new int[n];
      for (int i = 0; i < n; i++) {
        p[i] = members == null ? i : members[i];
      }
      long[] key = world == 1 ? new long[] {seed, epoch} : new long[] {seed, epoch, rank, world};
      UniformRandomProvider rng = RandomSource.XO_RO_SHI_RO_128_PP.create(key);
      for (int i = n - 1; i > 0; i--) {
        int j = rng.nextInt(i + 1);
        int t = p[i];
        p[i] = p[j];
        p[j] = t;
      }
      permutation = p;
      permutationEpoch = epoch;
    }
    return permutation;
  }

  /** Copies the training batch at (epoch, position) into {@code x} and {@code y}. */
  void batch(long epoch, long position, int size, float[] x, float[] y) {
    int[] p = order(epoch);
    for (int i = 0; i < size; i++) {
      int idx = p[(int) ((position + i) % p.length)];
      System.arraycopy(trainX, idx * features, x, i * features, features);
      y[i] = trainY[idx];
    }
  }
}
