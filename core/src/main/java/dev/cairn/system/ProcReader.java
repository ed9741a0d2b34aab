package dev.cairn.system;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Linux's /proc files, read when they exist; every reader answers -1 where it cannot. */
final class ProcReader {
  private final Path proc;

  ProcReader(Path proc) {
    this.proc = proc;
  }

  /** Resident set size of this process in bytes (VmRSS of /proc/self/status). */
  long rssBytes() {
    String kb = field(proc.resolve("self/status"), "VmRSS:");
    return kb == null ? -1 : Long.parseLong(kb.replace("kB", "").strip()) * 1024;
  }

  /** {@code name} of /proc/self/io (write_bytes: what reached storage; wchar: what write got). */
  long io(String name) {
    String v = field(proc.resolve("self/io"), name + ":");
    return v == null ? -1 : Long.parseLong(v.strip());
  }

  /** The machine's CPU time as {busy, total} jiffies from /proc/stat, or null. */
  long[] machineCpu() {
    String line = firstLine(proc.resolve("stat"));
    if (line == null || !line.startsWith("cpu ")) {
      return null;
    }
    String[] f = line.substring(4).strip().split("\\s+");
    long total = 0;
    long idle = 0;
    for (int i = 0; i < f.length && i < 8; i++) { // user nice system idle iowait irq softirq steal
      long v = Long.parseLong(f[i]);
      total += v;
      if (i == 3 || i == 4) {
        idle += v;
      }
    }
    return new long[] {total - idle, total};
  }

  private static String field(Path file, String prefix) {
    try {
      for (String l : Files.readAllLines(file, StandardCharsets.UTF_8)) {
        if (l.startsWith(prefix)) {
          return l.substring(prefix.length()).strip();
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux, or not readable (/proc/self/io needs the same user and ptrace rights)
    }
    return null;
  }

  private static String firstLine(Path file) {
    try (var lines = Files.lines(file, StandardCharsets.UTF_8)) {
      return lines.findFirst().orElse(null);
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }
}
