package dev.cairn.cli.demo;

import dev.cairn.checkpoint.RetentionPolicy;
import dev.cairn.checkpoint.SavedCheckpoint;
import dev.cairn.djl.CairnTrainingListener;
import dev.cairn.djl.CheckpointableAdam;
import dev.cairn.manager.CheckpointManager;
import dev.cairn.manager.CheckpointPolicy;
import dev.cairn.manager.DataCursor;
import dev.cairn.plots.PlotSettings;
import dev.cairn.plots.Plots;
import dev.cairn.run.Cairn;
import dev.cairn.run.Run;
import dev.cairn.run.RunOptions;
import dev.cairn.run.RunStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * {@code cairn demo}: trains the demo network in a Cairn run, resuming it when it exists. Each
 * step: batch from the data cursor, forward, backward, Adam update, metrics ({@code loss}, {@code
 * lr}); every {@code validateEvery} steps {@code val_loss}, {@code val_accuracy} and {@code
 * samples_per_s}. Checkpoints hold the model, the optimizer's moments and step count, and the data
 * cursor, so a resumed run computes exactly what an uninterrupted one would.
 */
public final class DemoJob {
  /** What happened, for the console. */
  public record Result(
      Path runDir,
      boolean alreadyFinished,
      long startStep,
      long endStep,
      int session,
      Map<String, Double> lastMetrics,
      Optional<SavedCheckpoint> finalCheckpoint,
      boolean stopped,
      String location) {}

  /**
   * The network's parameters as one array of floats, every parameter in the block's order: what a
   * hook reads and writes between steps (to average replicas, say).
   */
  public interface Weights {
    /** A copy of every parameter's values. */
    float[] read();

    /**
     * Sets every parameter, in place (the trainer and optimizer keep their references).
     *
     * @param values as many as {@link #read} returns, in the same order
     * @throws IllegalArgumentException when the count differs
     */
    void write(float[] values);
  }

  /** Runs on the training thread after each step's update, before its validation and save. */
  public interface StepHook {
    /**
     * @param step the step just completed (0 for the first), whose checkpoint, if one is taken,
     *     holds the weights as this hook leaves them
     */
    void afterStep(long step, Weights weights) throws IOException;
  }

  /** Called once the run is open, before the first step (the console prints and attaches). */
  public interface StartListener {
    void started(Run run, long startStep);
  }

  private final DemoSettings settings;
  private final String runsLocation;
  private final Map<String, String> storageSettings;
  private final String name;
  private Clock clock = Clock.systemUTC();
  private boolean allowConfigChange;
  private String notify;
  private boolean saveBest = true;
  private boolean sha256;
  private boolean asyncSaves = true;
  private PlotSettings plotSettings = PlotSettings.defaults();
  private TeacherLabels.Teacher teacher;
  private java.io.PrintWriter console = new java.io.PrintWriter(java.io.Writer.nullWriter(), true);
  private StepHook afterStep = (s, w) -> {};
  private final Map<String, Object> extraConfig = new LinkedHashMap<>();
  private StartListener onStart = (r, s) -> {};
  private Path engineCache;
  private dev.cairn.coordination.Coordinator group;

  public DemoJob(DemoSettings settings, Path runsDir, String name) {
    this(settings, runsDir.toString(), Map.of(), name);
  }

  /**
   * @param runsLocation a runs folder, or remote storage such as {@code s3a://bucket/runs}
   * @param storageSettings settings of remote storage (Hadoop keys)
   */
  public DemoJob(
      DemoSettings settings,
      String runsLocation,
      Map<String, String> storageSettings,
      String name) {
    this.settings = settings;
    this.runsLocation = runsLocation;
    this.storageSettings = Map.copyOf(storageSettings);
    this.name = name;
  }

  public DemoJob clock(Clock c) {
    this.clock = c;
    return this;
  }

  /** A webhook for alerts (save failed, disk low, failed, finished); null: none. */
  public DemoJob notify(String url) {
    this.notify = url;
    return this;
  }

  public DemoJob allowConfigChange(boolean allow) {
    this.allowConfigChange = allow;
    return this;
  }

  /** How plots are drawn (default {@link PlotSettings#defaults()}); null: no plots. */
  public DemoJob plots(PlotSettings settings) {
    this.plotSettings = settings;
    return this;
  }

  /** Labels from a teacher API through the response cache (null: the generated labels). */
  public DemoJob teacher(TeacherLabels.Teacher t) {
    this.teacher = t;
    return this;
  }

  /** Where the job's own messages go (the teacher's summary). */
  public DemoJob console(java.io.PrintWriter out) {
    this.console = out;
    return this;
  }

  /** Whether a checkpoint is saved each time val_loss improves (default true). */
  public DemoJob saveBest(boolean save) {
    this.saveBest = save;
    return this;
  }

  /** Whether each checkpoint file's SHA-256 is recorded besides its CRC32C (default false). */
  public DemoJob sha256(boolean record) {
    this.sha256 = record;
    return this;
  }

  /**
   * Whether the training thread goes on while a checkpoint is written (default true). A test that
   * checks which steps the triggers pick turns it off: with async saves, a save that cannot start
   * because the one before is still being written moves to a later step, and how often that happens
   * depends on the machine's speed.
   */
  DemoJob asyncSaves(boolean async) {
    this.asyncSaves = async;
    return this;
  }

  /**
   * Called on the training thread after each step's update, before its validation (tests move a
   * clock with it; a Spark job averages its replicas).
   */
  public DemoJob afterStep(StepHook hook) {
    this.afterStep = hook;
    return this;
  }

  public DemoJob onStart(StartListener l) {
    this.onStart = l;
    return this;
  }

  /** The start listener set so far (to chain another after it). */
  public StartListener startListener() {
    return onStart;
  }

  /** Where DJL unpacks the PyTorch library (default {@link EngineCache#resolve}(null)). */
  public DemoJob engineCache(Path dir) {
    this.engineCache = dir;
    return this;
  }

  /**
   * This process as one rank of a group (from {@code cairn launch}): the ranks train replicas of
   * the network, each on its partition of the data, and make one run and one checkpoint per save.
   */
  public DemoJob coordinator(dev.cairn.coordination.Coordinator c) {
    this.group = c.worldSize() > 1 ? c : null;
    return this;
  }

  /**
   * Adds an entry to the run's config: something outside the settings that changes the numbers (how
   * often a Spark job averages its replicas, say), so that resuming with another value is refused
   * as a config change.
   */
  public DemoJob config(String key, Object value) {
    extraConfig.put(key, value);
    return this;
  }

  private Map<String, Object> config() {
    Map<String, Object> c = settings.config();
    c.putAll(extraConfig);
    if (group != null) {
      c.put("ranks", group.worldSize());
    }
    if (teacher != null) {
      c.put("labels", Map.of("teacher", teacher.url().toString(), "model", teacher.model()));
    }
    return c;
  }

  private String runLocation() {
    return runsLocation.replaceAll("/+$", "") + "/" + name;
  }

  /** The run's folder on this machine when the run exists (pulled first when remote), or null. */
  private Path existingRun() throws IOException {
    if (dev.cairn.store.Storages.isLocal(runsLocation)) {
      Path dir = dev.cairn.store.Storages.localPath(runsLocation).resolve(name);
      return RunStatus.isRun(dir) ? dir : null;
    }
    try {
      return Cairn.localCopy(runLocation(), storageSettings);
    } catch (IllegalArgumentException notARunYet) {
      return null;
    }
  }

  public Result run() throws IOException {
    Path dir = existingRun();
    if (dir != null && "finished".equals(RunStatus.of(dir, clock).status())) {
      RunStatus st = RunStatus.of(dir, clock);
      return new Result(
          dir,
          true,
          st.step(),
          st.step(),
          st.sessions(),
          Map.of(),
          Optional.empty(),
          false,
          runLocation());
    }
    Path engineDir = EngineCache.resolve(engineCache);
    Network.configureEngine(settings.threads(), engineDir);
    CheckpointPolicy.Builder b =
        CheckpointPolicy.builder()
            .everySteps(Math.max(1, settings.checkpointEverySteps()))
            .every(settings.checkpointEvery())
            .async(asyncSaves)
            .sha256(sha256);
    if (saveBest) {
      b.onBest("val_loss", RetentionPolicy.Goal.MIN);
    }
    CheckpointPolicy policy =
        b.retention(
                RetentionPolicy.builder()
                    .keepLast(3)
                    .keepBest(1, "val_loss", RetentionPolicy.Goal.MIN)
                    .build())
            .build();
    if (settings.checkpointEverySteps() == 0) {
      policy =
          new CheckpointPolicy(
              0,
              policy.every(),
              policy.bestMetric(),
              policy.bestGoal(),
              policy.retention(),
              policy.async(),
              policy.saveOnShutdown(),
              policy.shutdownGrace(),
              policy.lossMetric(),
              policy.lossJumpThreshold(),
              policy.lossWindow(),
              policy.sha256());
    }
    RunOptions options =
        RunOptions.named(name)
            .config(config())
            .totalSteps(settings.steps())
            .clock(clock)
            .allowConfigChange(allowConfigChange)
            .notify(notify);
    if (group != null) {
      options = options.coordinator(group);
    }
    if (dev.cairn.store.Storages.isLocal(runsLocation)) {
      Files.createDirectories(dev.cairn.store.Storages.localPath(runsLocation));
    }
    try (Run run = Cairn.open(runsLocation, storageSettings, options)) {
      try (Plots plots = plotSettings == null ? null : Plots.start(run, plotSettings)) {
        return train(run, policy, plots);
      } catch (RuntimeException e) {
        if (EngineCache.isExtractionFailure(e)) {
          IOException clear = EngineCache.extractionFailed(engineDir, e);
          run.fail(clear);
          throw clear;
        }
        run.fail(e);
        throw e;
      } catch (IOException | Error e) {
        run.fail(e);
        throw e;
      }
    }
  }

  private Result train(Run run, CheckpointPolicy policy, Plots plots) throws IOException {
    CheckpointManager checkpoints = run.checkpoints(policy);
    run.batchSize(settings.batchSize(), 0);
    DataCursor cursor = new DataCursor("data");
    Map<String, Double> last = new LinkedHashMap<>();
    long start;
    long end = settings.steps();
    boolean stopped = false;
    Network net = null;
    try {
      CheckpointableAdam adam = Network.adam(settings);
      CairnTrainingListener cairn = new CairnTrainingListener(run, checkpoints, adam);
      net =
          group == null
              ? new Network(settings, adam, cairn)
              : new Network(settings, adam, cairn, group.rank(), group.worldSize());
      if (teacher != null) {
        TeacherLabels.label(net.data, teacher, run, 0, console);
      }
      start = cairn.restore(net.trainer, cursor);
      onStart.started(run, start);
      long windowStart = System.nanoTime();
      long windowSteps = 0;
      for (long step = start; step < settings.steps(); step++) {
        net.step(cursor);
        afterStep.afterStep(step, net);
        windowSteps++;
        if ((step + 1) % settings.validateEvery() == 0 || step + 1 == settings.steps()) {
          double[] v = net.validate();
          long now = System.nanoTime();
          double samplesPerSecond = windowSteps * settings.batchSize() * 1e9 / (now - windowStart);
          cairn.record("val_loss", v[0]);
          cairn.record("val_accuracy", v[1]);
          cairn.record("samples_per_s", samplesPerSecond);
          if (plots != null) {
            net.plotInternals(plots, step);
          }
          last.put("val_loss", v[0]);
          last.put("val_accuracy", v[1]);
          windowStart = now;
          windowSteps = 0;
        }
        if (checkpoints.stopRequested()) {
          stopped = true; // cairn stop or the dashboard's Stop: this step's checkpoint is saving
          end = step + 1;
          break;
        }
      }
    } finally {
      if (net != null) {
        net.close(); // the trainer's end: the last step is reported and the final save made
      }
    }
    Optional<SavedCheckpoint> fin = checkpoints.lastSaved();
    fin.ifPresent(c -> c.manifest().metrics().forEach(last::putIfAbsent));
    if (!stopped) {
      run.finish(last);
    }
    return new Result(
        run.dir(), false, start, end, run.session(), last, fin, stopped, run.location());
  }
}
