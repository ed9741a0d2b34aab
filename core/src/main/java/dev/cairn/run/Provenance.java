package dev.cairn.run;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/** What produced a run: code version, machine, JVM. Everything here is best effort. */
final class Provenance {
  private Provenance() {}

  static ObjectNode collect(Path workingDir) {
    ObjectNode o = JsonNodeFactory.instance.objectNode();
    ObjectNode git = o.putObject("git");
    String commit = run(workingDir, "git", "rev-parse", "HEAD");
    if (commit != null) {
      git.put("commit", commit);
      String status = run(workingDir, "git", "status", "--porcelain", "--untracked-files=no");
      git.put("dirty", status != null && !status.isEmpty());
    } else {
      git.putNull("commit");
    }
    o.put("host", hostName());
    ObjectNode os = o.putObject("os");
    os.put("name", System.getProperty("os.name"));
    os.put("version", System.getProperty("os.version"));
    os.put("arch", System.getProperty("os.arch"));
    ObjectNode jvm = o.putObject("jvm");
    jvm.put("vendor", System.getProperty("java.vendor"));
    jvm.put("version", System.getProperty("java.version"));
    jvm.put("vm", System.getProperty("java.vm.name"));
    var flags = jvm.putArray("flags");
    ManagementFactory.getRuntimeMXBean().getInputArguments().forEach(flags::add);
    ObjectNode cpu = o.putObject("cpu");
    cpu.put("model", cpuModel());
    cpu.put("count", Runtime.getRuntime().availableProcessors());
    ObjectNode mem = o.putObject("memory");
    mem.put("jvm_max_bytes", Runtime.getRuntime().maxMemory());
    if (ManagementFactory.getOperatingSystemMXBean()
        instanceof com.sun.management.OperatingSystemMXBean sun) {
      mem.put("physical_bytes", sun.getTotalMemorySize());
    }
    var gpus = o.putArray("gpus");
    String smi =
        run(workingDir, "nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader");
    if (smi != null) {
      smi.lines().filter(l -> !l.isBlank()).forEach(gpus::add);
    }
    o.put("cairn_version", cairnVersion());
    o.put("command", ProcessHandle.current().info().commandLine().orElse(""));
    o.put("pid", ProcessHandle.current().pid());
    return o;
  }

  static String hostName() {
    String h = System.getenv("HOSTNAME");
    if (h != null && !h.isBlank()) {
      return h;
    }
    try {
      return Files.readString(Path.of("/etc/hostname"), StandardCharsets.UTF_8).trim();
    } catch (IOException e) {
      return "unknown";
    }
  }

  static String cairnVersion() {
    String v = Provenance.class.getPackage().getImplementationVersion();
    return v == null ? "development" : v;
  }

  private static String cpuModel() {
    try {
      for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"), StandardCharsets.UTF_8)) {
        if (l.startsWith("model name")) {
          return l.substring(l.indexOf(':') + 1).trim();
        }
      }
    } catch (IOException e) {
      // not Linux
    }
    return System.getProperty("os.arch");
  }

  /** Runs a short command; its trimmed output, or null when it is missing or fails. */
  private static String run(Path dir, String... command) {
    try {
      Process p =
          new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(false).start();
      p.getOutputStream().close();
      byte[] out = p.getInputStream().readAllBytes();
      p.getErrorStream().readAllBytes();
      if (!p.waitFor(5, TimeUnit.SECONDS) || p.exitValue() != 0) {
        p.destroyForcibly();
        return null;
      }
      return new String(out, StandardCharsets.UTF_8).trim();
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }
}
