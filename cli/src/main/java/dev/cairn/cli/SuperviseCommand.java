package dev.cairn.cli;

import dev.cairn.cli.supervise.Supervisor;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code cairn supervise}: restart a crashed job, with backoff, a bound, and signal forwarding. */
@Command(
    name = "supervise",
    mixinStandardHelpOptions = true,
    description = {
      "Runs COMMAND and restarts it when it exits non-zero or dies by a signal, waiting an"
          + " exponentially growing, jittered delay between attempts. Exits 0 as soon as COMMAND"
          + " succeeds, or with COMMAND's last exit code after --max-restarts restarts. SIGINT and"
          + " SIGTERM are forwarded to COMMAND (and end supervision). When COMMAND is a Cairn job,"
          + " each restart is recorded as an event in its run folder.",
      "Example: cairn supervise --max-restarts 5 -- ./cairn demo --run nightly"
    })
final class SuperviseCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @picocli.CommandLine.Mixin RestartOptions restarts;

  @Option(
      names = "--run-dir",
      paramLabel = "RUN_DIR",
      description = "record restarts in this run (found automatically for Cairn jobs)")
  Path runDir;

  @Option(
      names = "--notify",
      paramLabel = "URL",
      description =
          "webhook for alerts (Slack-compatible JSON) when the job dies or supervision gives up")
  String notify;

  @Parameters(
      paramLabel = "COMMAND",
      arity = "1..*",
      description = "the command and its arguments, after --")
  List<String> command;

  @Override
  public Integer call() throws Exception {
    Supervisor.Settings s = restarts.settings(runDir);
    Supervisor sup = new Supervisor(command, s, spec.commandLine().getErr(), new SecureRandom());
    if (notify == null) {
      return sup.run();
    }
    try (dev.cairn.alert.Webhook w =
        dev.cairn.alert.Webhook.start(
            notify,
            dev.cairn.alert.Webhook.Settings.defaults(),
            (type, step, message, fields) ->
                spec.commandLine().getErr().println("cairn supervise: " + message))) {
      return sup.notify(w).run();
    }
  }
}
