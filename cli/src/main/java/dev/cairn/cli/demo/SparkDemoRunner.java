package dev.cairn.cli.demo;

import dev.cairn.coordination.Coordinator;
import java.io.IOException;
import java.io.Serializable;
import java.util.List;
import java.util.Optional;
import java.util.ServiceLoader;

/**
 * The demo as a Spark barrier job ({@code cairn demo --spark MASTER}): every task of one barrier
 * stage trains a replica, and the replicas are averaged through Spark's own {@code allGather}.
 *
 * <p>The module {@code cairn-spark-demo} provides it (found with {@link ServiceLoader}). The {@code
 * cairn} jar does not carry Spark, so there {@link #find} finds nothing and {@code cairn demo
 * --spark} starts a JVM on that module's class path instead, which finds it.
 */
public interface SparkDemoRunner {
  /**
   * What one task runs. Serializable: Spark ships it to the executors.
   *
   * @param <T> what a task returns to the driver
   */
  interface Task<T extends Serializable> extends Serializable {
    /**
     * @param rank this task's coordinator: its rank and the group of the stage's tasks
     * @param afterStep the hook to run after each step (the averaging of the replicas)
     */
    T run(Coordinator rank, DemoJob.StepHook afterStep) throws IOException;
  }

  /**
   * Runs {@code task} on every task of one barrier stage and returns what each returned, in rank
   * order.
   *
   * @param master Spark's master URL ({@code local[2]}, {@code spark://host:7077}, {@code yarn})
   * @param tasks the number of tasks (ranks); 0 for Spark's default parallelism
   * @param averageEvery average the replicas after every this many steps
   * @throws IllegalArgumentException when a task refused its settings, or the cluster cannot run
   *     that many tasks at once (a barrier stage needs them all)
   * @throws IOException when the job failed (the message says which task and why)
   */
  <T extends Serializable> List<T> run(String master, int tasks, int averageEvery, Task<T> task)
      throws IOException;

  /** The runner on this class path, if any. */
  static Optional<SparkDemoRunner> find() {
    return ServiceLoader.load(SparkDemoRunner.class).findFirst();
  }
}
