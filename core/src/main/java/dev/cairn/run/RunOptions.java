package dev.cairn.run;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.cairn.checkpoint.Names;
import dev.cairn.metrics.Durability;
import dev.cairn.metrics.OverflowPolicy;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * How to open a run. Immutable; each {@code with}-style method returns a copy and validates its
 * value. Defaults: a generated id (UTC time, short git commit, random suffix), empty config, config
 * changes refused on resume, group-commit metrics, progress every 5 s, system metrics every 10 s.
 */
public final class RunOptions {
  private static final ObjectMapper JSON = new ObjectMapper();

  final String name;
  final JsonNode config;
  final boolean allowConfigChange;
  final long totalSteps;
  final Clock clock;
  final Durability durability;
  final OverflowPolicy overflow;
  final int queueCapacity;
  final Duration progressInterval;
  final Duration controlPollInterval;
  final Duration systemInterval;
  final java.net.URI notify;
  final dev.cairn.coordination.Coordinator coordinator;

  private RunOptions(
      String name,
      JsonNode config,
      boolean allowConfigChange,
      long totalSteps,
      Clock clock,
      Durability durability,
      OverflowPolicy overflow,
      int queueCapacity,
      Duration progressInterval,
      Duration controlPollInterval,
      Duration systemInterval,
      java.net.URI notify,
      dev.cairn.coordination.Coordinator coordinator) {
    this.coordinator = coordinator;
    this.name = name;
    this.config = config;
    this.allowConfigChange = allowConfigChange;
    this.totalSteps = totalSteps;
    this.clock = clock;
    this.durability = durability;
    this.overflow = overflow;
    this.queueCapacity = queueCapacity;
    this.progressInterval = progressInterval;
    this.controlPollInterval = controlPollInterval;
    this.systemInterval = systemInterval;
    this.notify = notify;
  }

  /** A run with a generated id. */
  public static RunOptions generated() {
    return new RunOptions(
        null,
        JsonNodeFactory.instance.objectNode(),
        false,
        0,
        Clock.systemUTC(),
        Durability.GROUP_COMMIT,
        OverflowPolicy.BLOCK,
        1 << 16,
        Duration.ofSeconds(5),
        Duration.ofMillis(500),
        Duration.ofSeconds(10),
        null,
        null);
  }

  /** A run with a name of the user's (its folder name; reopened to resume). */
  public static RunOptions named(String name) {
    Names.requireSafe(name, "run name");
    return generated().copy(name, null, null, null, null, null, null, null, null, null);
  }

  /** The same options for the run of that name (its id already chosen). */
  RunOptions withName(String name) {
    Names.requireSafe(name, "run name");
    return copy(name, null, null, null, null, null, null, null, null, null);
  }

  private RunOptions copy(
      String name,
      JsonNode config,
      Boolean allow,
      Long total,
      Clock clock,
      Durability d,
      OverflowPolicy o,
      Integer cap,
      Duration progress,
      Duration poll) {
    return new RunOptions(
        name != null ? name : this.name,
        config != null ? config : this.config,
        allow != null ? allow : this.allowConfigChange,
        total != null ? total : this.totalSteps,
        clock != null ? clock : this.clock,
        d != null ? d : this.durability,
        o != null ? o : this.overflow,
        cap != null ? cap : this.queueCapacity,
        progress != null ? progress : this.progressInterval,
        poll != null ? poll : this.controlPollInterval,
        systemInterval,
        notify,
        coordinator);
  }

  /** The run's configuration (hyperparameters, model and data description): any JSON object. */
  public RunOptions config(JsonNode config) {
    if (config == null || !config.isObject()) {
      throw new IllegalArgumentException("config must be a JSON object");
    }
    return copy(null, config.deepCopy(), null, null, null, null, null, null, null, null);
  }

  /** The configuration as a map of plain values (numbers, strings, lists, maps). */
  public RunOptions config(Map<String, ?> config) {
    JsonNode tree = JSON.valueToTree(config);
    return config(tree);
  }

  /** Resume even when the config differs; the diff is recorded as a config_changed event. */
  public RunOptions allowConfigChange(boolean allow) {
    return copy(null, null, allow, null, null, null, null, null, null, null);
  }

  /** Steps the whole run will take, for percent and ETA (0: unknown). */
  public RunOptions totalSteps(long steps) {
    if (steps < 0) {
      throw new IllegalArgumentException("totalSteps must be 0 (unknown) or more");
    }
    return copy(null, null, null, steps, null, null, null, null, null, null);
  }

  public RunOptions clock(Clock clock) {
    return copy(
        null, null, null, null, Objects.requireNonNull(clock), null, null, null, null, null);
  }

  public RunOptions metrics(Durability durability, OverflowPolicy overflow, int queueCapacity) {
    if (queueCapacity < 2) {
      throw new IllegalArgumentException("the metrics queue needs room for at least 2 records");
    }
    return copy(
        null,
        null,
        null,
        null,
        null,
        Objects.requireNonNull(durability),
        Objects.requireNonNull(overflow),
        queueCapacity,
        null,
        null);
  }

  /** How often progress.json and the heartbeat are rewritten (default 5 s). */
  public RunOptions progressInterval(Duration d) {
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException("the progress interval must be positive");
    }
    return copy(null, null, null, null, null, null, null, null, d, null);
  }

  /**
   * How often system metrics (CPU, memory, GC, disk, GPUs) are sampled into system.jsonl on a
   * background thread (default 10 s); {@link Duration#ZERO} turns them off.
   */
  public RunOptions systemMetrics(Duration every) {
    if (every.isNegative()) {
      throw new IllegalArgumentException(
          "the system metrics interval must be positive, or zero to turn them off");
    }
    RunOptions o = copy(null, null, null, null, null, null, null, null, null, null);
    return new RunOptions(
        o.name,
        o.config,
        o.allowConfigChange,
        o.totalSteps,
        o.clock,
        o.durability,
        o.overflow,
        o.queueCapacity,
        o.progressInterval,
        o.controlPollInterval,
        every,
        o.notify,
        o.coordinator);
  }

  /**
   * A webhook to alert (Slack-compatible JSON {@code {"text": ...}}) when a save fails, disk space
   * runs low, or the run finishes or fails. Sent from a background thread with bounded retries;
   * training never waits for it. Null: no alerts (the default).
   *
   * @throws IllegalArgumentException when url is not an http(s) URL
   */
  public RunOptions notify(String url) {
    java.net.URI u = url == null ? null : dev.cairn.alert.Webhook.parse(url);
    return new RunOptions(
        name,
        config,
        allowConfigChange,
        totalSteps,
        clock,
        durability,
        overflow,
        queueCapacity,
        progressInterval,
        controlPollInterval,
        systemInterval,
        u,
        coordinator);
  }

  /**
   * This process as one rank of a group ({@code Coordinators.fromEnvironment(System.getenv())}):
   * every rank opens the run with its coordinator, and they make one run. Rank 0 opens (or resumes)
   * it as a process alone would, writes run.json, the sessions, progress, results, events and
   * answers the control folder; the other ranks wait for it and write only what is theirs: their
   * metrics and a heartbeat in {@code ranks/rank-R/} of the run folder ({@code metrics.jsonl},
   * {@code progress.json}), and their share of each checkpoint. The run's checkpoint manager saves
   * with the group (one checkpoint from every rank per save). A coordinator of one rank changes
   * nothing. Local runs folders only, for now.
   */
  public RunOptions coordinator(dev.cairn.coordination.Coordinator coordinator) {
    java.util.Objects.requireNonNull(coordinator, "coordinator");
    return new RunOptions(
        name,
        config,
        allowConfigChange,
        totalSteps,
        clock,
        durability,
        overflow,
        queueCapacity,
        progressInterval,
        controlPollInterval,
        systemInterval,
        notify,
        coordinator);
  }

  /** How often the control folder is checked for requests (default 500 ms). */
  public RunOptions controlPollInterval(Duration d) {
    if (d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException("the control poll interval must be positive");
    }
    return copy(null, null, null, null, null, null, null, null, null, d);
  }
}
