package dev.cairn.cli;

import dev.cairn.cli.supervise.LaunchPlan;
import dev.cairn.cli.supervise.Supervisor;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code cairn launch}: N local ranks of one command, restarted together (torchrun for the JVM).
 */
@Command(
    name = "launch",
    mixinStandardHelpOptions = true,
    description = {
      "Runs N copies of COMMAND on this machine as the ranks of one job, each with RANK,"
          + " LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR=127.0.0.1, MASTER_PORT and"
          + " TORCHELASTIC_RESTART_COUNT set (as torchrun does), and CAIRN_COORD_PORT and"
          + " CAIRN_COORD_TOKEN for Cairn's coordinator. Each output line is tagged with its"
          + " rank. When one rank fails, the others are stopped (SIGTERM, then SIGKILL after"
          + " --stop-grace) and the whole group restarts after a backoff, as attempt 1, 2, ..."
          + " up to --max-restarts; then the exit code is the failed rank's. Exits 0 when every"
          + " rank exits 0. SIGINT and SIGTERM are forwarded to every rank and end the launch.",
      "Example: cairn launch --nproc 4 -- java -cp app.jar com.example.Train"
    })
final class LaunchCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @picocli.CommandLine.Mixin RestartOptions restarts;

  @Option(
      names = "--nproc",
      required = true,
      paramLabel = "N",
      description = "number of ranks to start")
  int nproc;

  @Option(
      names = "--master-port",
      defaultValue = "0",
      paramLabel = "PORT",
      description = "MASTER_PORT for every attempt (default: a free port chosen per attempt)")
  int masterPort;

  @Option(
      names = "--stop-grace",
      defaultValue = "30s",
      paramLabel = "DURATION",
      description =
          "time the ranks have to exit after SIGTERM before SIGKILL (default ${DEFAULT-VALUE})")
  String stopGrace;

  @Parameters(
      paramLabel = "COMMAND",
      arity = "1..*",
      description = "the command every rank runs, and its arguments, after --")
  List<String> command;

  @Override
  public Integer call() throws Exception {
    Supervisor.Settings s = restarts.settings(null);
    SecureRandom random = new SecureRandom();
    LaunchPlan plan =
        new LaunchPlan(
            command,
            nproc,
            masterPort,
            restarts.maxRestarts,
            Durations.parse(stopGrace),
            spec.commandLine().getErr(),
            random);
    return new Supervisor(plan, s, spec.commandLine().getOut(), spec.commandLine().getErr(), random)
        .run();
  }
}
