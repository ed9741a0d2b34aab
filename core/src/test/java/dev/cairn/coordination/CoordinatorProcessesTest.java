package dev.cairn.coordination;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** N ranks as N real JVMs on loopback, configured only through torchrun's variables. */
@Timeout(300)
class CoordinatorProcessesTest {
  private final List<Process> ranks = new ArrayList<>();

  @AfterEach
  void killLeftovers() {
    ranks.forEach(Process::destroyForcibly);
  }

  /** Starts world JVMs with RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT (rendezvous: +1). */
  private List<BufferedReader> start(int world, String... args) throws IOException {
    int coordPort;
    try (ServerSocket s = new ServerSocket(0)) {
      coordPort = s.getLocalPort();
    }
    List<BufferedReader> outputs = new ArrayList<>();
    for (int r = 0; r < world; r++) {
      List<String> cmd = new ArrayList<>();
      cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
      cmd.add("-cp");
      cmd.add(System.getProperty("java.class.path"));
      cmd.add(RankProcess.class.getName());
      cmd.addAll(List.of(args));
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT);
      Map<String, String> env = pb.environment();
      env.keySet().removeIf(k -> k.startsWith("SLURM_") || k.startsWith("OMPI_"));
      env.put("RANK", Integer.toString(r));
      env.put("WORLD_SIZE", Integer.toString(world));
      env.put("MASTER_ADDR", "127.0.0.1");
      env.put("MASTER_PORT", Integer.toString(coordPort - 1));
      env.remove("CAIRN_COORD_PORT");
      Process p = pb.start();
      ranks.add(p);
      outputs.add(new BufferedReader(new InputStreamReader(p.getInputStream(), UTF_8)));
    }
    return outputs;
  }

  @Test
  void threeJvmsAgreeRoundAfterRound() throws Exception {
    List<BufferedReader> outputs = start(3);
    for (int r = 0; r < 3; r++) {
      assertThat(ranks.get(r).waitFor(120, TimeUnit.SECONDS)).isTrue();
      assertThat(ranks.get(r).exitValue()).isZero();
      assertThat(outputs.get(r).lines())
          .containsExactly(
              "round 0 gathered r0,r1,r2 broadcast from-0-0",
              "round 1 gathered r0,r1,r2 broadcast from-0-1",
              "round 2 gathered r0,r1,r2 broadcast from-0-2");
    }
  }

  @Test
  void whenRankZerosProcessIsKilledTheOthersFailPromptlyNamingIt() throws Exception {
    List<BufferedReader> outputs = start(3, "hold", "0");
    awaitReady(outputs);
    ranks.get(0).destroyForcibly();
    for (int r = 1; r < 3; r++) {
      // The barrier's timeout is 10 minutes; the process must end long before.
      assertThat(ranks.get(r).waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(ranks.get(r).exitValue()).isEqualTo(3);
      assertThat(outputs.get(r).readLine())
          .startsWith("failed: barrier 'after': lost connection to rank 0 (the rendezvous at")
          .endsWith("missing [0]");
    }
  }

  @Test
  void whenAnotherRankIsKilledRankZeroAndTheRestFailNamingIt() throws Exception {
    List<BufferedReader> outputs = start(3, "hold", "2");
    awaitReady(outputs);
    ranks.get(2).destroyForcibly();
    for (int r = 0; r < 2; r++) {
      assertThat(ranks.get(r).waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(ranks.get(r).exitValue()).isEqualTo(3);
      // Either in the barrier or, when rank 2 died first, on entering it.
      assertThat(outputs.get(r).readLine())
          .startsWith("failed: ")
          .contains("lost connection to rank 2 (its process ended")
          .endsWith("missing [2]");
    }
  }

  private static void awaitReady(List<BufferedReader> outputs) throws IOException {
    for (BufferedReader out : outputs) {
      String line;
      do {
        line = out.readLine();
      } while (line != null && !line.equals("ready"));
      assertThat(line).isEqualTo("ready");
    }
  }
}
