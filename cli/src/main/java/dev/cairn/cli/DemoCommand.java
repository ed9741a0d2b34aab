package dev.cairn.cli;

import dev.cairn.cli.demo.DemoJob;
import dev.cairn.cli.demo.DemoSettings;
import dev.cairn.run.ConfigChangedException;
import dev.cairn.web.Dashboard;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code cairn demo}: the main job, a real DJL network trained in a resumable Cairn run. */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    description = {
      "Trains an MLP classifier (10 classes, synthetic data generated from the seed) with DJL on"
          + " PyTorch, offline, in the run folder RUNS/NAME. Kill it at any moment (even kill -9)"
          + " and run the same command again: it resumes from the newest intact checkpoint and"
          + " ends exactly where an uninterrupted run would.",
    })
final class DemoCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--dir",
      defaultValue = "runs",
      paramLabel = "RUNS",
      description =
          "runs folder, or remote storage like hdfs://namenode/runs or s3a://bucket/runs (default"
              + " ${DEFAULT-VALUE})")
  String runs;

  @picocli.CommandLine.Mixin Locations locations;

  @picocli.CommandLine.Mixin DemoOnSpark.Options spark;

  @Option(
      names = "--run",
      defaultValue = "demo",
      paramLabel = "NAME",
      description =
          "run name (default ${DEFAULT-VALUE}); an unfinished run of this name is resumed")
  String name;

  @Option(
      names = "--steps",
      defaultValue = "10000",
      paramLabel = "N",
      description = "training steps (default ${DEFAULT-VALUE})")
  long steps;

  @Option(
      names = "--seed",
      defaultValue = "42",
      paramLabel = "S",
      description = "seed of data, initialization and order (default ${DEFAULT-VALUE})")
  long seed;

  @Option(
      names = "--checkpoint-every-steps",
      defaultValue = "1000",
      paramLabel = "K",
      description = "save every K steps, 0: off (default ${DEFAULT-VALUE})")
  long everySteps;

  @Option(
      names = "--checkpoint-every",
      defaultValue = "60s",
      paramLabel = "DURATION",
      description = "save at least this often, 0: off (default ${DEFAULT-VALUE})")
  String every;

  @Option(
      names = "--threads",
      defaultValue = "1",
      paramLabel = "T",
      description =
          "engine threads; the same count gives the same numbers (default ${DEFAULT-VALUE})")
  int threads;

  @Option(
      names = "--batch-size",
      defaultValue = "64",
      paramLabel = "B",
      description = "examples per step, a power of two (default ${DEFAULT-VALUE})")
  int batchSize;

  @Option(
      names = "--hidden",
      defaultValue = "256",
      paramLabel = "H",
      description = "units per hidden layer (default ${DEFAULT-VALUE})")
  int hidden;

  @Option(
      names = "--lr",
      defaultValue = "0.003",
      paramLabel = "RATE",
      description = "peak learning rate (default ${DEFAULT-VALUE})")
  float lr;

  @Option(
      names = "--validate-every",
      defaultValue = "100",
      paramLabel = "N",
      description = "validation every N steps (default ${DEFAULT-VALUE})")
  int validateEvery;

  @Option(
      names = "--examples",
      defaultValue = "16384",
      paramLabel = "N",
      description = "training examples, a power of two (default ${DEFAULT-VALUE})")
  int examples;

  @Option(
      names = "--plot-every",
      defaultValue = "60s",
      paramLabel = "DURATION",
      description =
          "draw plots/ this often and at each checkpoint, 0: only at checkpoints (default ${DEFAULT-VALUE})")
  String plotEvery;

  @Option(names = "--no-plots", description = "draw no plots")
  boolean noPlots;

  @Option(
      names = "--sha256",
      description =
          "also record each checkpoint file's SHA-256 (CRC32C of every 64 MiB is always recorded"
              + " and checked on load)")
  boolean sha256;

  @Option(
      names = "--allow-config-change",
      description = "resume even when the settings differ from the run's (recorded as an event)")
  boolean allowConfigChange;

  @Option(
      names = "--serve",
      arity = "0..1",
      fallbackValue = "8765",
      paramLabel = "PORT",
      description =
          "also serve the dashboard from this process (default port 8765; 0: any free port)")
  Integer serve;

  @Option(
      names = "--host",
      defaultValue = "127.0.0.1",
      paramLabel = "H",
      description = "with --serve: address to listen on (default ${DEFAULT-VALUE})")
  String host;

  @Option(
      names = "--teacher",
      paramLabel = "URL",
      description =
          "labels from an OpenAI-compatible chat-completions endpoint, like"
              + " http://127.0.0.1:8000/v1 (API key from OPENAI_API_KEY)")
  String teacher;

  @Option(
      names = "--teacher-model",
      defaultValue = "gpt-4o-mini",
      paramLabel = "MODEL",
      description = "the teacher's model (default ${DEFAULT-VALUE})")
  String teacherModel;

  @Option(
      names = "--teacher-price",
      paramLabel = "IN,OUT",
      description = "price per million prompt and completion tokens, for cost accounting")
  String teacherPrice;

  @Option(
      names = "--teacher-threads",
      defaultValue = "8",
      paramLabel = "N",
      description = "requests in parallel (default ${DEFAULT-VALUE})")
  int teacherThreads;

  @Option(
      names = "--engine-cache",
      paramLabel = "DIR",
      description =
          "where the PyTorch engine (about 450 MiB) is unpacked, shared by all runs (default: the"
              + " user cache folder, e.g. ~/.cache/cairn/engine; also CAIRN_ENGINE_CACHE)")
  Path engineCache;

  @Option(
      names = "--teacher-deadline",
      defaultValue = "30m",
      paramLabel = "DURATION",
      description =
          "how long one label may take through retries and pauses of the circuit breaker before"
              + " the job fails (default ${DEFAULT-VALUE})")
  String teacherDeadline;

  @Option(
      names = "--cache",
      paramLabel = "FILE|URI",
      description =
          "response cache file (default RUN_DIR/cache/responses.db), shared by the runs that name"
              + " it; or postgresql://USER[:PASSWORD]@HOST[:PORT]/DB, one cache for a fleet of"
              + " jobs that pays each prompt once (password also from PGPASSWORD or ~/.pgpass)")
  String cache;

  @Option(
      names = "--notify",
      paramLabel = "URL",
      description =
          "webhook for alerts (Slack-compatible JSON): a save fails, disk space runs low, the run"
              + " fails or finishes")
  String notify;

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    DemoJob job = job(out); // every option checked, also before a Spark job starts
    if (spark.requested()) {
      return DemoOnSpark.run(this, spark, spec.commandLine().getParseResult().expandedArgs(), out);
    }
    DemoOutcome o;
    // Under cairn launch (or torchrun, SLURM, mpirun): one rank of a group; else alone.
    try (dev.cairn.coordination.Coordinator group =
            dev.cairn.coordination.Coordinators.fromEnvironment(System.getenv());
        Dashboard dashboard = group.isLeader() ? serve(out) : null) {
      o = train(job, group, out);
    }
    return o.print(out);
  }

  /** The job the options describe; every option checked (the same in a Spark task). */
  DemoJob job(PrintWriter out) {
    if (notify != null) {
      dev.cairn.alert.Webhook.parse(notify); // a bad URL is refused before anything starts
    }
    spark.check(teacher != null);
    Duration interval = every.trim().equals("0") ? Duration.ZERO : Durations.parse(every);
    DemoSettings settings =
        new DemoSettings(
            steps,
            seed,
            batchSize,
            hidden,
            lr,
            threads,
            validateEvery,
            everySteps,
            interval.isZero() ? null : interval,
            examples);
    if (!Locations.isRemote(runs)) {
      checkRunsFolder(dev.cairn.store.Storages.localPath(runs));
    }
    dev.cairn.checkpoint.Names.requireSafe(name, "--run");
    DemoJob job =
        new DemoJob(settings, runs, locations.settings, name)
            .allowConfigChange(allowConfigChange)
            .notify(notify)
            .plots(noPlots ? null : plotSettings())
            .sha256(sha256)
            .teacher(teacher())
            .engineCache(engineCache)
            .console(out)
            .onStart(
                (run, start) -> {
                  if (start > 0) {
                    out.printf(
                        "resuming %s from step %d of %d (session %d)%n",
                        run.location(), start, steps, run.session());
                  } else if (run.session() > 1) {
                    out.printf(
                        "restarting %s from step 0: no checkpoint was saved (session %d)%n",
                        run.location(), run.session());
                  } else {
                    out.printf("training in %s: %d steps, seed %d%n", run.location(), steps, seed);
                  }
                  out.flush();
                });
    if (spark.requested()) {
      job.config("average_every", spark.averageEvery());
    }
    return job;
  }

  /** Trains as {@code rank} of its group (alone: a group of one); progress shown by rank 0. */
  DemoOutcome train(DemoJob job, dev.cairn.coordination.Coordinator rank, PrintWriter out)
      throws IOException {
    try (ProgressHolder progress = new ProgressHolder(out, rank.isLeader())) {
      return DemoOutcome.of(job.coordinator(rank).onStart(chain(job, progress)).run());
    } catch (ConfigChangedException e) {
      throw new IllegalArgumentException(
          Main.oneLine(e) + "; use another --run, or --allow-config-change to resume anyway");
    }
  }

  /** With --serve, the dashboard over the runs folder, in this process (null without). */
  Dashboard serve(PrintWriter out) throws IOException {
    if (serve == null) {
      return null;
    }
    if (serve < 0 || serve > 65535) {
      throw new IllegalArgumentException("--serve port must be 0 to 65535, not " + serve);
    }
    // The working copies: the job polls their control/ folders, so Save and Stop work here.
    Path folder = dev.cairn.run.Cairn.workingCopiesOf(runs, locations.settings);
    Files.createDirectories(folder);
    Dashboard d =
        ServeCommand.start(
            folder,
            host,
            serve,
            null,
            spec.commandLine().getErr(),
            null,
            locations.checkpointsOfRuns(runs),
            false); // inside the job: no read of a run no one opened
    out.println("Cairn dashboard: " + d.url());
    out.flush();
    return d;
  }

  /** Progress lines (or a bar on a terminal) once training starts; closed with the job. */
  private static final class ProgressHolder implements AutoCloseable {
    private final PrintWriter out;
    private final boolean shown;
    private ConsoleProgress progress;

    /**
     * @param shown false on ranks other than 0 of a group: rank 0's progress is the run's
     */
    ProgressHolder(PrintWriter out, boolean shown) {
      this.out = out;
      this.shown = shown;
    }

    void start(dev.cairn.run.Run run, long total) {
      if (!shown) {
        return;
      }
      progress =
          System.console() != null
              ? ConsoleProgress.attach(run, total, Duration.ofSeconds(5))
              : ConsoleProgress.lines(run, out, Duration.ofSeconds(5));
    }

    @Override
    public void close() {
      if (progress != null) {
        progress.close();
      }
    }
  }

  private DemoJob.StartListener chain(DemoJob job, ProgressHolder progress) {
    DemoJob.StartListener first = job.startListener();
    return (run, start) -> {
      first.started(run, start);
      progress.start(run, steps);
    };
  }

  private dev.cairn.cli.demo.TeacherLabels.Teacher teacher() {
    if (teacher == null) {
      return null;
    }
    java.net.URI url;
    try {
      url = new java.net.URI(teacher);
    } catch (java.net.URISyntaxException e) {
      throw new IllegalArgumentException("--teacher " + teacher + " is not a URL");
    }
    if (url.getScheme() == null || !url.getScheme().matches("https?") || url.getHost() == null) {
      throw new IllegalArgumentException(
          "--teacher must be an http(s) URL like http://127.0.0.1:8000/v1, was " + teacher);
    }
    if (cache != null) {
      dev.cairn.cache.ResponseCache.validate(cache); // a bad URI is refused before anything starts
    }
    dev.cairn.cache.Price price = dev.cairn.cache.Price.FREE;
    if (teacherPrice != null) {
      String[] p = teacherPrice.split(",");
      try {
        price = new dev.cairn.cache.Price(Double.parseDouble(p[0]), Double.parseDouble(p[1]));
      } catch (RuntimeException e) {
        throw new IllegalArgumentException(
            "--teacher-price must be IN,OUT prices per million tokens, like 0.15,0.60");
      }
    }
    Duration deadline;
    try {
      deadline = Durations.parse(teacherDeadline);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--teacher-deadline: " + e.getMessage());
    }
    if (deadline.isZero() || deadline.isNegative()) {
      throw new IllegalArgumentException(
          "--teacher-deadline must be a positive duration like 30m, was " + teacherDeadline);
    }
    return new dev.cairn.cli.demo.TeacherLabels.Teacher(
        url,
        teacherModel,
        System.getenv("OPENAI_API_KEY"),
        price,
        cache,
        teacherThreads,
        dev.cairn.cache.RetrySettings.defaults().deadline(deadline));
  }

  private dev.cairn.plots.PlotSettings plotSettings() {
    Duration d = plotEvery.trim().equals("0") ? null : Durations.parse(plotEvery);
    return dev.cairn.plots.PlotSettings.defaults().every(d);
  }

  private static void checkRunsFolder(Path runs) {
    if (Files.exists(runs) && !Files.isDirectory(runs)) {
      throw new IllegalArgumentException("--dir " + runs + " is a file; give a folder for runs");
    }
    Path existing = runs.toAbsolutePath();
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    if (existing == null || !Files.isWritable(existing) || !Files.isExecutable(existing)) {
      throw new IllegalArgumentException(
          "cannot write runs into --dir " + runs + " (permission denied); choose another folder");
    }
  }
}
