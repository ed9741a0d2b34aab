package dev.cairn.spark;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cairn.coordination.CoordinationException;
import dev.cairn.coordination.Coordinator;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import scala.Function1;
import scala.collection.Iterator;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag$;

/**
 * Two tasks of a real Spark barrier stage ({@code local[2]}) as two ranks. In local mode the tasks
 * run in this JVM, so they signal each other (and the test) through the static fields below.
 */
@Timeout(120)
class SparkCoordinatorTest {
  private static final Duration LONG = Duration.ofMinutes(1);

  private static JavaSparkContext spark;

  // What the tasks of the current test tell each other and the test; reset before each test.
  private static final Map<String, String> seen = new ConcurrentHashMap<>();
  private static volatile CountDownLatch signal;

  @BeforeAll
  static void startSpark() {
    SparkConf conf =
        new SparkConf()
            .setMaster("local[2]")
            .setAppName("cairn-spark-coordinator-test")
            .set("spark.driver.host", "127.0.0.1")
            .set("spark.driver.bindAddress", "127.0.0.1")
            .set("spark.ui.enabled", "false")
            .set("spark.local.dir", "target/spark-local")
            // Spark's own barrier waits a year unless told; a broken test must not.
            .set("spark.barrier.sync.timeout", "60s")
            // A barrier stage with more tasks than slots would retry this check for minutes.
            .set("spark.scheduler.barrier.maxConcurrentTasksCheck.interval", "1s")
            .set("spark.scheduler.barrier.maxConcurrentTasksCheck.maxFailures", "1");
    spark = new JavaSparkContext(conf);
  }

  @AfterAll
  static void stopSpark() {
    spark.stop();
  }

  @BeforeEach
  void resetSignals() {
    seen.clear();
    signal = new CountDownLatch(1);
  }

  /** What one task does with its context and its coordinator; returns one line for the test. */
  private interface RankTask extends Serializable {
    String run(BarrierTaskContext ctx, Coordinator c) throws Exception;
  }

  /** Runs the task on both ranks of one barrier stage; the lines in rank order. */
  private static JavaRDD<String> barrierStage(RankTask task) {
    Function1<Iterator<Integer>, Iterator<String>> f =
        (Function1<Iterator<Integer>, Iterator<String>> & Serializable)
            partition -> {
              BarrierTaskContext ctx = BarrierTaskContext.get();
              try (Coordinator c = SparkCoordinator.join(ctx, LONG)) {
                return line(task.run(ctx, c));
              } catch (Exception e) {
                throw new IllegalStateException(e);
              }
            };
    return spark
        .parallelize(List.of(0, 1), 2)
        .rdd()
        .barrier()
        .mapPartitions(f, false, ClassTag$.MODULE$.apply(String.class))
        .toJavaRDD();
  }

  @Test
  void theRanksAreThePartitionsOfTheStageAndShareOneHost() {
    List<String> lines =
        barrierStage(
                (ctx, c) ->
                    List.of(
                            ctx.partitionId(),
                            c.rank(),
                            c.worldSize(),
                            c.localRank(),
                            c.attempt(),
                            c.isLeader() ? 1 : 0)
                        .toString())
            .collect();
    // partition, rank, world, local rank (both tasks on this host), attempt, leader
    assertThat(lines).containsExactly("[0, 0, 2, 0, 0, 1]", "[1, 1, 2, 1, 0, 0]");
  }

  @Test
  void allGatherBroadcastAndBarrierRunAcrossTheTasks() {
    List<String> lines =
        barrierStage(
                (ctx, c) -> {
                  List<byte[]> all =
                      c.allGather("plan-1", ("from-" + c.rank()).getBytes(UTF_8), LONG);
                  byte[] decision =
                      c.broadcast("decide-1", c.isLeader() ? "commit".getBytes(UTF_8) : null, LONG);
                  c.barrier("done-1", LONG);
                  return all.stream().map(b -> new String(b, UTF_8)).collect(Collectors.toList())
                      + " "
                      + new String(decision, UTF_8);
                })
            .collect();
    assertThat(lines).containsExactly("[from-0, from-1] commit", "[from-0, from-1] commit");
  }

  @Test
  void aCallOneRankNeverMakesFailsOnTheOtherWithinItsTimeoutNamingTheRank() {
    Duration timeout = Duration.ofSeconds(2);
    List<String> lines =
        barrierStage(
                (ctx, c) -> {
                  if (c.rank() == 0) {
                    // Stays in the group, without calling, until rank 1 has failed.
                    return "waited: " + awaitSignal();
                  }
                  long start = System.nanoTime();
                  try {
                    c.barrier("save-1", timeout);
                    return "the barrier returned";
                  } catch (CoordinationException e) {
                    long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                    seen.put("elapsed", String.valueOf(ms));
                    return e.missingRanks() + " " + e.getMessage();
                  } finally {
                    signal.countDown();
                  }
                })
            .collect();
    assertThat(lines.get(0)).isEqualTo("waited: true");
    assertThat(lines.get(1))
        .startsWith("[0] barrier 'save-1' timed out after 2s")
        .contains("rank 0");
    // Not before its timeout, and not much after: the rendezvous fails it at the deadline.
    assertThat(Long.parseLong(seen.get("elapsed"))).isBetween(2_000L, 30_000L);
  }

  @Test
  void theAttemptIsTheStageAttemptAndARetriedStageIsANewGroup() {
    // A barrier stage that feeds a shuffle is retried as a whole when a task fails.
    List<String> lines =
        barrierStage(
                (ctx, c) -> {
                  if (ctx.stageAttemptNumber() == 0) {
                    if (c.rank() == 1) {
                      throw new IllegalStateException("rank 1 fails the first attempt");
                    }
                    try {
                      c.barrier("work", LONG);
                    } catch (CoordinationException e) {
                      // Rank 1's coordinator closed with its task: no waiting for the timeout.
                      seen.put("rank 0 on attempt 0", e.getMessage());
                      throw e;
                    }
                  }
                  c.barrier("work", LONG);
                  return "rank " + c.rank() + " attempt " + c.attempt();
                })
            .repartition(1)
            .collect();
    assertThat(lines).containsExactlyInAnyOrder("rank 0 attempt 1", "rank 1 attempt 1");
    assertThat(seen.get("rank 0 on attempt 0")).contains("rank 1");
  }

  @Test
  void aTaskThatNeverJoinsFailsTheJoinOfTheOthersWithinTheTimeout() {
    JavaRDD<String> stage =
        spark
            .parallelize(List.of(0, 1), 2)
            .rdd()
            .barrier()
            .mapPartitions(neverJoinedByRankOne(), false, ClassTag$.MODULE$.apply(String.class))
            .toJavaRDD();
    // A failed barrier result stage ends the job.
    assertThatThrownBy(stage::collect).hasMessageContaining("barrier");
    assertThat(seen.get("rank 0"))
        .startsWith("rank 0: not every task of barrier stage")
        .contains("reached SparkCoordinator.join within 1000 ms");
  }

  private static Function1<Iterator<Integer>, Iterator<String>> neverJoinedByRankOne() {
    return (Function1<Iterator<Integer>, Iterator<String>> & Serializable)
        partition -> {
          BarrierTaskContext ctx = BarrierTaskContext.get();
          if (ctx.partitionId() == 1) {
            awaitSignal();
            return line("never joined");
          }
          try (Coordinator c = SparkCoordinator.join(ctx, Duration.ofSeconds(1))) {
            return line("joined as rank " + c.rank());
          } catch (IOException e) {
            seen.put("rank 0", e.getMessage());
            throw new UncheckedIOException(e);
          } finally {
            signal.countDown();
          }
        };
  }

  private static Iterator<String> line(String s) {
    return CollectionConverters.asScala(List.of(s).iterator());
  }

  private static boolean awaitSignal() {
    try {
      return signal.await(1, TimeUnit.MINUTES);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
