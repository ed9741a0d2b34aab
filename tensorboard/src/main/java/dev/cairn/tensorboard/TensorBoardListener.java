package dev.cairn.tensorboard;

import dev.cairn.events.EventType;
import dev.cairn.events.Events;
import dev.cairn.run.RunListener;
import java.io.IOException;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes a session's records into its own event file on its own thread. The metrics writer (and,
 * for histograms, the training thread) only offers to a bounded queue: when the queue is full the
 * item is dropped and counted, never waited for, so TensorBoard can never slow training down.
 */
final class TensorBoardListener implements RunListener {
  static final int CAPACITY = 4096;
  private static final Item END = new Item(0, 0, null, null, null, 0, null);

  /** One thing to write: a metrics record, or a histogram (tag and samples set). */
  private record Item(
      long step,
      long millis,
      String[] keys,
      double[] values,
      String tag,
      int count,
      float[] samples) {}

  private final EventFile file;
  private final Events events;
  private final boolean resumed;
  private final String configMarkdown;
  private final BlockingQueue<Item> queue;
  private final Thread thread;
  private final AtomicLong dropped = new AtomicLong();
  private long droppedReported;
  private boolean started;
  private volatile IOException failure;

  /**
   * @param resumed whether earlier sessions wrote points this one may log again (after a crash)
   * @param configMarkdown the run's config as Markdown, written as a text summary; may be null
   */
  TensorBoardListener(
      EventFile file, Events events, boolean resumed, String configMarkdown, int capacity) {
    this.file = file;
    this.events = events;
    this.resumed = resumed;
    this.configMarkdown = configMarkdown;
    this.queue = new ArrayBlockingQueue<>(capacity);
    this.thread = new Thread(this::drain, "cairn-tensorboard");
    thread.setDaemon(true);
    thread.start();
  }

  @Override
  public void onRecord(long step, long timeMillis, String[] keys, double[] values, int count) {
    String[] k = new String[count];
    double[] v = new double[count];
    System.arraycopy(keys, 0, k, 0, count);
    System.arraycopy(values, 0, v, 0, count);
    offer(new Item(step, timeMillis, k, v, null, count, null));
  }

  @Override
  public void onHistogram(String tag, long step, long timeMillis, float[] samples) {
    offer(new Item(step, timeMillis, null, null, tag, 0, samples));
  }

  private void offer(Item item) {
    if (failure == null && !queue.offer(item)) {
      dropped.incrementAndGet();
    }
  }

  /** Items dropped because the queue was full. */
  long dropped() {
    return dropped.get();
  }

  private void drain() {
    try {
      while (true) {
        Item item = queue.take();
        do {
          if (item == END) {
            return;
          }
          write(item);
          item = queue.poll();
        } while (item != null);
        file.flush(); // the queue is empty: let TensorBoard see what we have
        reportDrops();
      }
    } catch (IOException e) {
      failure = e;
      events.emit(
          EventType.MONITORING_FAILED,
          -1,
          "writing " + file.path().getFileName() + " failed, TensorBoard files stop: " + e);
      queue.clear();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void write(Item item) throws IOException {
    double wall = item.millis() / 1000.0;
    if (!started) {
      started = true;
      if (resumed) {
        file.write(EventEncoder.sessionStart(wall, item.step(), "cairn session resumed"));
      }
      if (configMarkdown != null) {
        file.write(EventEncoder.text(wall, item.step(), "config", configMarkdown));
      }
    }
    if (item.samples() != null) {
      Histogram h = Histogram.of(item.samples());
      if (h != null) {
        file.write(EventEncoder.histogram(wall, item.step(), item.tag(), h));
      }
    } else {
      file.write(EventEncoder.scalars(wall, item.step(), item.keys(), item.values(), item.count()));
    }
  }

  private void reportDrops() {
    long d = dropped.get();
    if (d > droppedReported) {
      events.emit(
          EventType.QUEUE_OVERFLOW,
          -1,
          (d - droppedReported)
              + " TensorBoard records dropped (writer behind, queue full); "
              + d
              + " in all");
      droppedReported = d;
    }
  }

  @Override
  public void close() throws IOException {
    try {
      while (thread.isAlive() && !queue.offer(END, 100, TimeUnit.MILLISECONDS)) {
        // the writer is behind: wait for room, unless it has died
      }
      thread.join();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    reportDrops();
    try {
      file.close();
    } catch (IOException e) {
      if (failure == null) {
        throw e;
      }
      failure.addSuppressed(e);
    }
    if (failure != null) {
      throw new IOException("TensorBoard file " + file.path() + " is incomplete", failure);
    }
  }
}
