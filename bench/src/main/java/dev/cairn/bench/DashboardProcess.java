package dev.cairn.bench;

import dev.cairn.web.Dashboard;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * A dashboard in a process of its own, for measuring the first request of a cold server: started
 * with the runs folder, it prints {@code port N} once it listens and serves until its standard
 * input closes. {@link #start} runs it from this process's class path.
 */
public final class DashboardProcess implements AutoCloseable {
  private final Process process;
  private final BufferedReader out;
  private final int port;
  private final long launchedNanos;

  private DashboardProcess(Process process, BufferedReader out, int port, long launchedNanos) {
    this.process = process;
    this.out = out;
    this.port = port;
    this.launchedNanos = launchedNanos;
  }

  /** Starts a server process on {@code runs} and waits until it listens. */
  public static DashboardProcess start(Path runs) throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    long launched = System.nanoTime();
    Process p =
        new ProcessBuilder(
                java,
                "-cp",
                System.getProperty("java.class.path"),
                DashboardProcess.class.getName(),
                runs.toString())
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    BufferedReader out =
        new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
    String line;
    try {
      line = out.readLine();
    } catch (IOException e) {
      out.close();
      p.destroyForcibly();
      throw e;
    }
    if (line == null || !line.startsWith("port ")) {
      out.close();
      p.destroyForcibly();
      throw new IOException("the dashboard process did not start: " + line);
    }
    return new DashboardProcess(p, out, Integer.parseInt(line.substring(5).trim()), launched);
  }

  public int port() {
    return port;
  }

  /** When the process was launched ({@link System#nanoTime}): its JVM's start counts from here. */
  public long launchedNanos() {
    return launchedNanos;
  }

  @Override
  public void close() throws IOException {
    out.close();
    process.getOutputStream().close();
    try {
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
  }

  /** The server process: {@code DashboardProcess RUNS}. */
  public static void main(String[] args) throws Exception {
    try (Dashboard d = Dashboard.builder(Path.of(args[0])).port(0).warmUp(true).start()) {
      System.out.println("port " + d.port());
      System.out.flush();
      while (System.in.read() >= 0) {
        // serve until the parent closes our input
      }
    }
  }
}
