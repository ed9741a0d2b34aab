package dev.cairn.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.store.Storage;
import java.lang.management.ManagementFactory;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * When each storage call of one rank's save started and how long it took, on the wall clock that
 * every JVM of the machine shares, so that the ranks' timelines of one save line up: where a group
 * save spends what one raw writer does not. The writes to one file are one entry (first start, last
 * end, count, the seconds inside them). Printed as a JSON line on stderr by {@link GroupRanks}
 * under {@code -Dcairn.bench.trace=true}.
 */
final class Timeline {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One call, or a run of writes to one file. */
  private static final class Entry {
    final String op;
    final String thread;
    final long startMicros;
    long endMicros;
    long count = 1;
    long insideNanos;

    Entry(String op, String thread, long startMicros) {
      this.op = op;
      this.thread = thread;
      this.startMicros = startMicros;
    }
  }

  private final List<Entry> entries = new ArrayList<>();
  private final Map<Object, Entry> writes = new IdentityHashMap<>();
  private long goMicros;
  private long cpuAtGo;

  static boolean enabled() {
    return Boolean.getBoolean("cairn.bench.trace");
  }

  /** {@code storage}, every call on it and on the files it opens recorded here. */
  Storage wrap(Storage storage) {
    return wrap(storage, Storage.class, "");
  }

  private Storage wrap(Storage target, Class<Storage> type, String prefix) {
    return calls(target, type, prefix, this::record);
  }

  /** What {@link #calls} tells of each call: on which proxy, the operation, when, how long. */
  @FunctionalInterface
  interface CallSink {
    void call(Object proxy, String op, long startEpochMicros, long nanos);
  }

  /**
   * {@code target} behind a pass-through proxy that tells {@code sink} of every call on it, and on
   * the files it opens ({@code output.*}, {@code input.*}).
   */
  @SuppressWarnings("unchecked")
  static <T> T calls(T target, Class<T> type, String prefix, CallSink sink) {
    return (T)
        Proxy.newProxyInstance(
            type.getClassLoader(),
            new Class<?>[] {type},
            (proxy, method, args) -> {
              long start = micros();
              long t0 = System.nanoTime();
              try {
                Object r = method.invoke(target, args);
                if (r instanceof Storage.Output out) {
                  r = calls(out, Storage.Output.class, "output.", sink);
                } else if (r instanceof Storage.Input in) {
                  r = calls(in, Storage.Input.class, "input.", sink);
                }
                return r;
              } catch (InvocationTargetException e) {
                throw e.getCause();
              } finally {
                sink.call(proxy, prefix + method.getName(), start, System.nanoTime() - t0);
              }
            });
  }

  private synchronized void record(Object on, String op, long startMicros, long nanos) {
    long end = startMicros + nanos / 1000;
    if (op.equals("output.write")) {
      Entry run = writes.get(on);
      if (run != null) {
        run.endMicros = end;
        run.count++;
        run.insideNanos += nanos;
        return;
      }
    }
    Entry e = new Entry(op, Thread.currentThread().getName(), startMicros);
    e.endMicros = end;
    e.insideNanos = nanos;
    entries.add(e);
    if (op.equals("output.write")) {
      writes.put(on, e);
    }
  }

  /** Marks the instant every rank passed the barrier before the save. */
  synchronized void go() {
    entries.clear();
    writes.clear();
    goMicros = micros();
    cpuAtGo = cpuNanos();
  }

  /** One JSON line: the save's calls, in milliseconds from {@link #go}. */
  synchronized String json(int rank, long step) {
    long end = micros();
    ObjectNode o = JSON.createObjectNode();
    o.put("timeline", rank).put("step", step).put("go_epoch_us", goMicros);
    o.put("save_ms", (end - goMicros) / 1e3);
    o.put("cpu_s", (cpuNanos() - cpuAtGo) / 1e9);
    ArrayNode ops = o.putArray("ops");
    for (Entry e : entries) {
      ops.addArray()
          .add(e.op)
          .add(e.thread)
          .add((e.startMicros - goMicros) / 1e3)
          .add((e.endMicros - goMicros) / 1e3)
          .add(e.count)
          .add(e.insideNanos / 1e6);
    }
    return o.toString();
  }

  /** One JSON line for a raw write of {@code seconds} since {@link #go}. */
  synchronized String rawJson(int rank, long step, double seconds) {
    ObjectNode o = JSON.createObjectNode();
    o.put("raw_rank", rank).put("step", step).put("go_epoch_us", goMicros);
    o.put("write_s", seconds).put("cpu_s", (cpuNanos() - cpuAtGo) / 1e9);
    return o.toString();
  }

  private static long micros() {
    return ChronoUnit.MICROS.between(Instant.EPOCH, Instant.now());
  }

  private static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }
}
