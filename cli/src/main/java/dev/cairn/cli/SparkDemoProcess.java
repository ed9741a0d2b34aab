package dev.cairn.cli;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * {@code cairn demo --spark} from cairn.jar: Spark is over 100 MB of jars that the command line
 * does not carry, so the demo runs in a JVM on the class path of the module cairn-spark-demo, as
 * its build describes it in {@code spark-demo/target/java.args} (Spark's {@code --add-opens} and
 * the class path). That JVM runs this same command, which finds the Spark runner there.
 */
final class SparkDemoProcess {
  /** Where the repository is: set by the {@code cairn} script. */
  static final String HOME_PROPERTY = "cairn.home";

  /** How long a stopped command waits for the Spark JVM to take its last save and end. */
  private static final long STOP_WAIT_MINUTES = 5;

  private SparkDemoProcess() {}

  /**
   * Runs {@code cairn demo ARGS} in the Spark JVM, its output on this one's, and returns its exit
   * code. The Spark JVM ends when this process does: stopped, it stops it (SIGTERM, so its tasks
   * take their last save); killed, the Spark JVM sees it gone (CAIRN_LAUNCHER_PID) and exits.
   *
   * @throws IllegalStateException when the module has not been built (the message says how)
   */
  static int run(List<String> demoArgs, String master) throws IOException {
    Path home = home();
    Path javaArgs = home.resolve("spark-demo/target/java.args");
    if (!Files.isRegularFile(javaArgs)) {
      throw new IllegalStateException(
          "--spark needs the Spark demo, which is not built in "
              + home
              + ": run 'mvn -q -DskipTests -pl spark-demo -am package' there (./cairn demo --spark"
              + " does it by itself; Maven fetches Spark, about 150 MB, once)");
    }
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.addAll(inheritedOptions());
    cmd.add("@" + javaArgs);
    cmd.add(Main.class.getName());
    cmd.add("demo");
    cmd.addAll(demoArgs);
    ProcessBuilder pb = new ProcessBuilder(cmd).inheritIO();
    pb.environment()
        .put(
            dev.cairn.coordination.Coordinators.CAIRN_LAUNCHER_PID,
            Long.toString(ProcessHandle.current().pid()));
    if (master.startsWith("local")) {
      // Else Spark names the local executor by the machine's first non-loopback address, and rank
      // 0's rendezvous listens there.
      pb.environment().putIfAbsent("SPARK_LOCAL_IP", "127.0.0.1");
    }
    Process spark = pb.start();
    Thread stop = new Thread(() -> stop(spark), "cairn-spark-demo-stop");
    Runtime.getRuntime().addShutdownHook(stop);
    try {
      return spark.waitFor();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new java.io.InterruptedIOException("interrupted while the Spark demo ran");
    } finally {
      try {
        Runtime.getRuntime().removeShutdownHook(stop);
      } catch (IllegalStateException shuttingDown) {
        // this JVM is being stopped: the hook stops the Spark JVM
      }
    }
  }

  private static void stop(Process spark) {
    if (!spark.isAlive()) {
      return;
    }
    spark.destroy();
    try {
      spark.waitFor(STOP_WAIT_MINUTES, TimeUnit.MINUTES);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * The repository: {@value #HOME_PROPERTY}, else the folder two levels above this class's jar or
   * classes folder ({@code HOME/cli/target/cairn.jar}).
   */
  static Path home() {
    String set = System.getProperty(HOME_PROPERTY);
    if (set != null && !set.isBlank()) {
      return Path.of(set);
    }
    String unknown = "cannot tell where the Cairn repository is; set -D" + HOME_PROPERTY + "=DIR";
    Path home;
    try {
      home =
          Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI())
              .toAbsolutePath();
    } catch (URISyntaxException | RuntimeException e) {
      throw new IllegalStateException(unknown, e);
    }
    for (int up = 0; up < 3 && home != null; up++) {
      home = home.getParent();
    }
    if (home == null) {
      throw new IllegalStateException(unknown);
    }
    return home;
  }

  /**
   * This JVM's own settings that the Spark JVM should have too: system properties (DJL's, Spark's
   * {@code spark.*}, {@code cairn.*}) and memory limits.
   */
  private static List<String> inheritedOptions() {
    List<String> out = new ArrayList<>();
    for (String a : ManagementFactory.getRuntimeMXBean().getInputArguments()) {
      if (a.startsWith("-D") || a.startsWith("-Xm") || a.startsWith("-XX:MaxDirectMemorySize")) {
        out.add(a);
      }
    }
    return out;
  }
}
