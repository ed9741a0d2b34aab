package dev.cairn.cli;

import dev.cairn.web.Dashboard;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code cairn serve}: the dashboard over every run under a folder, until Ctrl-C. */
@Command(
    name = "serve",
    mixinStandardHelpOptions = true,
    description =
        "Serve the dashboard for every run under RUNS (running or not, any process): runs,"
            + " live charts, checkpoints, save now. Prints one URL with its token.")
final class ServeCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Parameters(
      paramLabel = "RUNS",
      defaultValue = "runs",
      description =
          "runs folder, or one run folder, or remote storage like s3a://bucket/runs (default:"
              + " ./runs)")
  String location;

  @picocli.CommandLine.Mixin Locations locations;

  @Option(
      names = "--host",
      defaultValue = "127.0.0.1",
      paramLabel = "H",
      description = "address to listen on (default ${DEFAULT-VALUE}; anything else is exposed)")
  String host;

  @Option(
      names = "--port",
      defaultValue = "8765",
      paramLabel = "P",
      description = "port (default ${DEFAULT-VALUE}; 0: any free port)")
  int port;

  @Option(
      names = "--token-file",
      paramLabel = "FILE",
      description = "where the token is kept (default: RUNS/.cairn/dashboard-token)")
  Path tokenFile;

  @Option(
      names = "--notify",
      paramLabel = "URL",
      description = "webhook for alerts (Slack-compatible JSON) when a run turns stalled or dead")
  String notify;

  @Override
  public Integer call() throws IOException, InterruptedException {
    Path runs = locations.runs(location);
    if (!Files.isDirectory(runs)) {
      throw new IllegalArgumentException(
          "no runs folder at " + runs + "; give the folder that holds your runs");
    }
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    CountDownLatch stop = new CountDownLatch(1);
    try (Alerts alerts = Alerts.watch(runs, notify, err);
        Dashboard d =
            start(
                runs,
                host,
                port,
                tokenFile,
                err,
                readOnly(),
                locations.checkpointsOfRuns(location),
                true)) {
      out.println("Cairn dashboard: " + d.url());
      if (alerts != null) {
        out.println("alerts about stalled and dead runs go to " + alerts.redacted());
      }
      out.flush();
      Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown, "cairn-serve-stop"));
      if (Locations.isRemote(location)) {
        followRemote(stop, err);
      }
      stop.await();
    }
    return 0;
  }

  /**
   * Pulls the remote runs into the dashboard's local copy at the pace their writers push (5 s),
   * until stopped; a failed pull is one line on stderr, and the next one tries again.
   */
  private void followRemote(CountDownLatch stop, PrintWriter err) throws InterruptedException {
    String last = null;
    while (!stop.await(5, java.util.concurrent.TimeUnit.SECONDS)) {
      try {
        locations.runs(location);
        last = null;
      } catch (IOException | RuntimeException e) {
        String line = "cairn serve: could not refresh " + location + ": " + Main.oneLine(e);
        if (!line.equals(last)) {
          err.println(line);
          err.flush();
        }
        last = line;
      }
    }
  }

  /** Starts a dashboard, warning on stderr when it listens beyond this machine. */
  /** Copies of remote runs: a request written into one would never reach the job. */
  private String readOnly() {
    return Locations.isRemote(location)
        ? "this dashboard shows copies of runs in "
            + location
            + "; save, stop and pin on the machine that runs the job (cairn demo --serve, or"
            + " cairn serve on its working copies in ~/.cache/cairn/remote-runs/work)"
        : null;
  }

  static Dashboard start(Path runs, String host, int port, Path tokenFile, PrintWriter err)
      throws IOException {
    return start(runs, host, port, tokenFile, err, null, null, true);
  }

  static Dashboard start(
      Path runs,
      String host,
      int port,
      Path tokenFile,
      PrintWriter err,
      String readOnly,
      Dashboard.RemoteCheckpoints remote,
      boolean warmUp)
      throws IOException {
    Dashboard.Builder b =
        Dashboard.builder(runs).host(host).port(port).tokenFile(tokenFile).warmUp(warmUp);
    if (readOnly != null) {
      b.readOnly(readOnly);
    }
    if (remote != null) {
      b.remoteCheckpoints(remote);
    }
    Dashboard d = b.start();
    if (!d.loopbackOnly()) {
      err.println(
          "warning: the dashboard listens on "
              + host
              + ":"
              + d.port()
              + ", beyond this machine: anyone who can reach it and has the token can read runs"
              + " and save checkpoints, and plain HTTP carries the token unencrypted");
      err.flush();
    }
    return d;
  }
}
