package dev.cairn.cli;

import dev.cairn.cli.demo.DemoJob;
import dev.cairn.cli.demo.SparkDemoRunner;
import dev.cairn.coordination.Coordinator;
import dev.cairn.coordination.Coordinators;
import dev.cairn.web.Dashboard;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * {@code cairn demo --spark MASTER}: the options it adds to the demo, the driver, and what every
 * Spark task runs. In a JVM with cairn-spark-demo on its class path the driver runs here (and in
 * local mode the tasks too); cairn.jar carries no Spark, so there {@link SparkDemoProcess} starts a
 * JVM on that module's class path with the same arguments, and its exit code is the command's.
 */
final class DemoOnSpark {
  /**
   * Spark's barrier calls look for their answer once a second (BarrierTaskContext sleeps between
   * looks), so each averaging costs about a second: every 10 steps would hold the demo near 10
   * steps a second.
   */
  private static final int DEFAULT_AVERAGE_EVERY = 100;

  private DemoOnSpark() {}

  /** The demo's options for a Spark job. */
  static final class Options {
    @Option(
        names = "--spark",
        paramLabel = "MASTER",
        description =
            "run as a Spark barrier job on this master (local[2], spark://HOST:7077, yarn): each"
                + " task trains a replica on its part of the data, the replicas averaged through"
                + " Spark")
    String master;

    @Option(
        names = "--tasks",
        paramLabel = "N",
        description =
            "with --spark: the job's tasks, one replica each (default: Spark's default"
                + " parallelism, N for local[N])")
    Integer tasks;

    @Option(
        names = "--average-every",
        paramLabel = "K",
        description = "with --spark: average the replicas after every K steps (default 100)")
    Integer averageEvery;

    boolean requested() {
      return master != null;
    }

    int averageEvery() {
      return averageEvery == null ? DEFAULT_AVERAGE_EVERY : averageEvery;
    }

    /**
     * @param teacher whether labels come from a teacher (not with --spark yet)
     * @throws IllegalArgumentException naming the option that is wrong
     */
    void check(boolean teacher) {
      if (master == null) {
        if (tasks != null || averageEvery != null) {
          throw new IllegalArgumentException(
              (tasks != null ? "--tasks" : "--average-every")
                  + " needs --spark MASTER (under cairn launch the ranks train an ensemble)");
        }
        return;
      }
      if (master.isBlank()) {
        throw new IllegalArgumentException("--spark needs a master URL, like local[2]");
      }
      if (tasks != null && (tasks < 1 || tasks > Coordinators.MAX_WORLD_SIZE)) {
        throw new IllegalArgumentException(
            "--tasks must be 1 to " + Coordinators.MAX_WORLD_SIZE + ", was " + tasks);
      }
      if (averageEvery() < 1) {
        throw new IllegalArgumentException(
            "--average-every must be at least 1, was " + averageEvery);
      }
      if (teacher) {
        throw new IllegalArgumentException(
            "--teacher does not run with --spark yet; label the data in a run without --spark");
      }
    }
  }

  /**
   * Runs the Spark job, here or in a JVM of its own, and prints how it ended.
   *
   * @param args the demo's arguments as given, for the tasks (or that JVM) to parse again
   * @return the command's exit code
   */
  static int run(DemoCommand demo, Options spark, List<String> args, PrintWriter out)
      throws IOException {
    Optional<SparkDemoRunner> runner = SparkDemoRunner.find();
    if (runner.isEmpty()) {
      return SparkDemoProcess.run(args, spark.master);
    }
    // Started by cairn.jar's command, this JVM ends with it (CAIRN_LAUNCHER_PID).
    Coordinators.watchLauncher(System.getenv());
    DemoOutcome rank0;
    try (Dashboard dashboard = demo.serve(out)) {
      out.printf(
          "a Spark barrier job on %s: one replica per task, averaged every %d steps%n",
          spark.master, spark.averageEvery());
      out.flush();
      int tasks = spark.tasks == null ? 0 : spark.tasks;
      rank0 = runner.get().run(spark.master, tasks, spark.averageEvery(), new Task(args)).get(0);
    }
    return rank0.print(out);
  }

  /**
   * One Spark task: the command's arguments parsed again where the task runs, and the demo trained
   * as the task's rank, rank 0 printing as the command does.
   */
  static final class Task implements SparkDemoRunner.Task<DemoOutcome> {
    private static final long serialVersionUID = 1L;

    private final ArrayList<String> args;

    Task(List<String> args) {
      this.args = new ArrayList<>(args);
    }

    @Override
    public DemoOutcome run(Coordinator rank, DemoJob.StepHook afterStep) throws IOException {
      DemoCommand demo = new DemoCommand();
      new CommandLine(demo).parseArgs(args.toArray(String[]::new));
      PrintWriter out =
          rank.isLeader()
              ? new PrintWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8), true)
              : new PrintWriter(Writer.nullWriter());
      return demo.train(demo.job(out).afterStep(afterStep), rank, out);
    }
  }
}
