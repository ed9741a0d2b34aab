package dev.cairn.spark.demo;

import dev.cairn.cli.demo.SparkDemoRunner;
import dev.cairn.coordination.Coordinator;
import dev.cairn.spark.SparkCoordinator;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.ExceptionFailure;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.RDD;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import scala.collection.Iterator;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

/**
 * {@code cairn demo --spark MASTER}: one barrier stage of N tasks ({@code sc.parallelize(0..N-1,
 * N).barrier().mapPartitions(...)}), each the rank of a Cairn group ({@link SparkCoordinator#join})
 * that trains one replica of the demo's network on its partition of the data. Spark is the engine:
 * it starts the tasks together and carries the averaging of the replicas ({@link
 * ParameterAveraging}, through its {@code allGather}). Cairn coordinates only the checkpoints, over
 * its own rendezvous: one run, and one checkpoint per save made of every task's share (its replica,
 * optimizer state and data cursor).
 *
 * <p>Spark ends a job whose barrier result stage fails; the demo's answer is the same as for a
 * killed one: run the command again, and every task resumes from the newest checkpoint.
 */
public final class SparkDemo implements SparkDemoRunner {
  /** How long a task waits for the others to join its group. */
  static final Duration JOIN_TIMEOUT = Duration.ofMinutes(5);

  /** Spark's RPC message limit unless set: {@code spark.rpc.message.maxSize}, in MiB. */
  private static final int DEFAULT_MAX_RPC_MIB = 128;

  /**
   * How Spark reports a failed barrier task: its partition (the rank), then on the next line what
   * it threw ("java.io.IOException: ...").
   */
  private static final Pattern FAILED_TASK =
      Pattern.compile("barrier task \\w+\\(\\d+, (\\d+)\\) finished unsuccessfully\\.?\\s*\\n(.*)");

  /** For {@link java.util.ServiceLoader}. */
  public SparkDemo() {}

  @Override
  public <T extends Serializable> List<T> run(
      String master, int tasks, int averageEvery, Task<T> task) throws IOException {
    SparkConf conf = conf(master);
    JavaSparkContext sc;
    try {
      sc = new JavaSparkContext(conf);
    } catch (Exception e) { // SparkException, which Scala throws undeclared
      throw new IllegalArgumentException(
          "cannot start Spark on --spark " + master + ": " + firstLine(e.getMessage()), e);
    }
    TaskFailures failures = new TaskFailures();
    try (sc) {
      sc.sc().addSparkListener(failures);
      int n = tasks > 0 ? tasks : sc.defaultParallelism();
      long maxRpcBytes = conf.getInt("spark.rpc.message.maxSize", DEFAULT_MAX_RPC_MIB) * (1L << 20);
      RankTask<T> rank =
          new RankTask<>(task, averageEvery, ParameterAveraging.floatsPerMessage(maxRpcBytes, n));
      RDD<T> stage =
          sc.parallelize(IntStream.range(0, n).boxed().toList(), n)
              .rdd()
              .barrier()
              .mapPartitions(rank, false, ClassTag$.MODULE$.apply(Serializable.class));
      return new ArrayList<>(stage.toJavaRDD().collect());
    } catch (Exception e) { // SparkException, which Scala throws undeclared
      // The context is stopped by now, and stopping drains Spark's listener bus: every task's end
      // has been told.
      throw failure(e, master, Map.copyOf(failures.thrown));
    }
  }

  /**
   * The demo's Spark settings; any {@code spark.*} system property set on the command line ({@code
   * -Dspark.executor.memory=4g} in CAIRN_JAVA_OPTS) wins.
   */
  static SparkConf conf(String master) {
    SparkConf conf = new SparkConf().setMaster(master).setAppName("cairn demo");
    conf.setIfMissing("spark.ui.enabled", "false");
    conf.setIfMissing("spark.ui.showConsoleProgress", "false"); // the demo prints its own
    // Spark's barrier calls wait a year unless told; the averaging waits for the slowest task,
    // which at worst is loading the engine or taking a save.
    conf.setIfMissing("spark.barrier.sync.timeout", "15min");
    // A stage with more tasks than free slots waits, never starting: say so after a few seconds.
    conf.setIfMissing("spark.scheduler.barrier.maxConcurrentTasksCheck.interval", "2s");
    conf.setIfMissing("spark.scheduler.barrier.maxConcurrentTasksCheck.maxFailures", "3");
    if (master.startsWith("local")) {
      conf.setIfMissing("spark.driver.host", "127.0.0.1");
      conf.setIfMissing("spark.driver.bindAddress", "127.0.0.1");
    }
    return conf;
  }

  /**
   * The job's failure in one line, from what the failed tasks threw. A refused setting (an
   * IllegalArgumentException on any rank, such as rank 0's changed config; the others then fail
   * only because rank 0 did) stays an IllegalArgumentException, so the command line says it and
   * exits 2, as does a stage the cluster cannot run at once; anything else becomes an IOException
   * with what the task Spark names threw (Spark writes it on the line after the stage's reason).
   *
   * @param thrown what each failed task threw ("class: message"), by rank
   * @return the IOException to throw
   * @throws IllegalArgumentException for a failure that is the user's to fix
   */
  static IOException failure(Exception e, String master, Map<Integer, String> thrown) {
    String message = String.valueOf(e.getMessage());
    if (message.contains("SPARK-24819")) {
      throw new IllegalArgumentException(
          "the Spark job needs all its tasks running at once (a barrier stage) and "
              + master
              + " has fewer free slots: give it more (local[N] runs N), or ask for fewer with"
              + " --tasks",
          e);
    }
    String refused = IllegalArgumentException.class.getName() + ": ";
    for (String t : thrown.values()) {
      if (t.startsWith(refused)) {
        throw new IllegalArgumentException(t.substring(refused.length()), e);
      }
    }
    Matcher failed = FAILED_TASK.matcher(message);
    if (!failed.find()) {
      return new IOException("the Spark job failed: " + firstLine(message), e);
    }
    return new IOException(
        "the Spark job failed: rank " + failed.group(1) + ": " + failed.group(2).trim(), e);
  }

  private static String firstLine(String s) {
    int nl = s == null ? -1 : s.indexOf('\n');
    return nl < 0 ? String.valueOf(s) : s.substring(0, nl);
  }

  /** What each failed task threw, as Spark tells its listeners (on a thread of its own). */
  private static final class TaskFailures extends SparkListener {
    private final Map<Integer, String> thrown = new ConcurrentSkipListMap<>();

    @Override
    public void onTaskEnd(SparkListenerTaskEnd end) {
      if (end.reason() instanceof ExceptionFailure f) {
        thrown.putIfAbsent(end.taskInfo().index(), f.className() + ": " + f.description());
      }
    }
  }

  /** One task of the stage: joins the group, then trains as its rank, averaging as it goes. */
  private static final class RankTask<T extends Serializable>
      extends AbstractFunction1<Iterator<Integer>, Iterator<T>> implements Serializable {
    private static final long serialVersionUID = 1L;

    private final Task<T> task;
    private final int averageEvery;
    private final int floatsPerMessage;

    RankTask(Task<T> task, int averageEvery, int floatsPerMessage) {
      this.task = task;
      this.averageEvery = averageEvery;
      this.floatsPerMessage = floatsPerMessage;
    }

    @Override
    public Iterator<T> apply(Iterator<Integer> partition) {
      BarrierTaskContext ctx = BarrierTaskContext.get();
      try (Coordinator c = SparkCoordinator.join(ctx, JOIN_TIMEOUT)) {
        T result = task.run(c, new ParameterAveraging(ctx, averageEvery, floatsPerMessage));
        return CollectionConverters.asScala(List.of(result).iterator());
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
  }
}
