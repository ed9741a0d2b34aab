package dev.cairn.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code cairn launch}: ranks, restarts of the whole group, stopping, signals. */
@Timeout(180)
class LaunchTest {
  @TempDir Path dir;

  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int cairn(String... args) {
    return Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
  }

  @Test
  void everyRankGetsItsOwnRankAndTheSameWorldSizeAndPorts() {
    String script =
        "echo \"R=$RANK L=$LOCAL_RANK W=$WORLD_SIZE LW=$LOCAL_WORLD_SIZE A=$MASTER_ADDR"
            + " P=$MASTER_PORT T=$TORCHELASTIC_RESTART_COUNT C=$CAIRN_COORD_PORT"
            + " K=${#CAIRN_COORD_TOKEN}\"";
    int code = cairn("launch", "--nproc", "3", "--", "sh", "-c", script);
    assertThat(code).isZero();
    Pattern line =
        Pattern.compile(
            "\\[rank (\\d)] R=\\1 L=\\1 W=3 LW=3 A=127\\.0\\.0\\.1 P=(\\d+) T=0 C=(\\d+) K=32");
    Set<String> ranks = new HashSet<>();
    Set<String> ports = new HashSet<>();
    for (String l : out.toString().lines().toList()) {
      Matcher m = line.matcher(l);
      assertThat(m.matches()).as(l).isTrue();
      ranks.add(m.group(1));
      ports.add(m.group(2) + "/" + m.group(3));
    }
    assertThat(ranks).containsExactlyInAnyOrder("0", "1", "2");
    assertThat(ports).hasSize(1);
    String[] masterAndCoord = ports.iterator().next().split("/");
    assertThat(masterAndCoord[0]).isNotEqualTo(masterAndCoord[1]);
    assertThat(err.toString())
        .contains(
            "cairn launch: attempt 0: 3 ranks, MASTER_ADDR=127.0.0.1 MASTER_PORT="
                + masterAndCoord[0]);
  }

  @Test
  void oneFailingRankStopsTheOthersAndRestartsTheGroupAsTheNextAttempt() {
    // On attempt 0, rank 1 fails while the others would run for 1000 s: they must be stopped.
    String script =
        "if [ \"$TORCHELASTIC_RESTART_COUNT\" = 0 ]; then"
            + " [ \"$RANK\" = 1 ] && exit 3; exec sleep 1000; fi;"
            + " echo \"attempt $TORCHELASTIC_RESTART_COUNT ok\"";
    int code =
        cairn(
            "launch",
            "--nproc",
            "3",
            "--max-restarts",
            "2",
            "--backoff",
            "10ms",
            "--",
            "sh",
            "-c",
            script);
    assertThat(code).isZero();
    assertThat(out.toString().lines())
        .containsExactlyInAnyOrder(
            "[rank 0] attempt 1 ok", "[rank 1] attempt 1 ok", "[rank 2] attempt 1 ok");
    assertThat(err.toString())
        .contains("cairn launch: the command exited with code 3 on rank 1; restart 1 of 2")
        .contains("cairn launch: attempt 1: 3 ranks")
        .doesNotContain("restart 2 of 2");
  }

  @Test
  void theGroupGivesUpAfterMaxRestartsWithTheFailedRanksExitCode() throws Exception {
    Path count = dir.resolve("count");
    String script =
        "if [ \"$RANK\" = 0 ]; then echo x >> '" + count + "'; exit 4; fi; exec sleep 1000";
    int code =
        cairn(
            "launch",
            "--nproc",
            "2",
            "--max-restarts",
            "2",
            "--backoff",
            "10ms",
            "--",
            "sh",
            "-c",
            script);
    assertThat(code).isEqualTo(4);
    assertThat(Files.readAllLines(count)).hasSize(3); // the first attempt and 2 restarts
    assertThat(err.toString())
        .contains("exited with code 4 on rank 0; restart 2 of 2")
        .contains(
            "cairn launch: the command exited with code 4 on rank 0; giving up after 2 restarts");
  }

  @Test
  void aRankThatIgnoresSigtermIsKilledWhenTheGraceIsOver() {
    Path ready = dir.resolve("ready");
    // Rank 0 ignores SIGTERM (and so does its sleep); rank 1 fails once rank 0 is ignoring it.
    String script =
        "if [ \"$RANK\" = 0 ]; then trap '' TERM; touch '"
            + ready
            + "'; while true; do sleep 1; done; fi;"
            + " while [ ! -f '"
            + ready
            + "' ]; do sleep 0.01; done; exit 5";
    int code =
        cairn(
            "launch",
            "--nproc",
            "2",
            "--max-restarts",
            "0",
            "--stop-grace",
            "200ms",
            "--",
            "sh",
            "-c",
            script);
    assertThat(code).isEqualTo(5);
    assertThat(err.toString()).contains("exited with code 5 on rank 1; giving up after 0 restarts");
  }

  @Test
  void javaRanksMeetThroughTheCoordinatorOnEveryAttempt() {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    int code =
        cairn(
            "launch",
            "--nproc",
            "3",
            "--max-restarts",
            "1",
            "--backoff",
            "10ms",
            "--",
            java,
            "-cp",
            System.getProperty("java.class.path"),
            LaunchedRank.class.getName());
    assertThat(code).as(err.toString()).isZero();
    assertThat(out.toString().lines())
        .contains(
            "[rank 0] rank 0 of 3, attempt 0: 0,1,2",
            "[rank 1] rank 1 of 3, attempt 0: 0,1,2",
            "[rank 0] rank 0 of 3, attempt 1: 0,1,2",
            "[rank 1] rank 1 of 3, attempt 1: 0,1,2",
            "[rank 2] rank 2 of 3, attempt 1: 0,1,2");
    // Rank 1 exits 3 without closing; ranks 0 and 2 then lose it and exit 1. Which exit the
    // launcher sees first is up to the operating system.
    assertThat(err.toString())
        .containsPattern("exited with code (3 on rank 1|1 on rank [02]); restart 1 of 1")
        .contains("cairn launch: attempt 1: 3 ranks");
  }

  @Test
  void sigtermToTheLauncherStopsEveryRank() throws Exception {
    String d = "'" + dir + "'";
    String script =
        "echo $$ > "
            + d
            + "/pid.tmp-$RANK && mv "
            + d
            + "/pid.tmp-$RANK "
            + d
            + "/pid-$RANK;"
            + " exec sleep 1000";
    List<String> args = new ArrayList<>(List.of("launch", "--nproc", "2", "--", "sh", "-c"));
    args.add(script);
    Process launcher =
        new ProcessBuilder(ChildJvm.cairn(args))
            .redirectErrorStream(true)
            .redirectOutput(dir.resolve("launcher.log").toFile())
            .start();
    List<Long> pids = new ArrayList<>();
    try {
      for (int rank = 0; rank < 2; rank++) {
        Path pid = dir.resolve("pid-" + rank);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!Files.exists(pid) && launcher.isAlive() && System.nanoTime() < deadline) {
          Thread.sleep(20); // polling for the file the rank writes when it is up
        }
        pids.add(Long.parseLong(Files.readString(pid).trim()));
      }
      launcher.destroy(); // SIGTERM
      assertThat(launcher.waitFor(60, TimeUnit.SECONDS)).isTrue();
    } finally {
      launcher.destroyForcibly();
    }
    assertThat(launcher.exitValue()).isEqualTo(143);
    for (long pid : pids) {
      assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
          .as("rank process " + pid)
          .isFalse();
    }
    assertThat(Files.readString(dir.resolve("launcher.log")))
        .contains("cairn launch: stopped by SIGTERM")
        .doesNotContain("restart 1");
  }

  @Test
  void badArgumentsGetOneLine() {
    assertThat(cairn("launch", "--nproc", "0", "--", "true")).isEqualTo(2);
    assertThat(err.toString().trim())
        .isEqualTo("cairn launch: --nproc must be from 1 to 4096, was 0");
    StringWriter e2 = new StringWriter();
    int code =
        Main.run(
            new String[] {"launch", "--", "true"}, new PrintWriter(out), new PrintWriter(e2, true));
    assertThat(code).isEqualTo(2);
    assertThat(e2.toString()).startsWith("cairn launch: Missing required option: '--nproc=N'");
  }

  @Test
  void launchIsListedInTheHelp() {
    assertThat(cairn("--help")).isZero();
    assertThat(out.toString()).contains("launch");
  }
}
