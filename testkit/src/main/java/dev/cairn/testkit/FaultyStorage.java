package dev.cairn.testkit;

import dev.cairn.store.Storage;
import dev.cairn.store.StorageNames;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Any storage with network faults at chosen operations: every call, including those on the outputs,
 * inputs and locks it returns, is numbered and passed through a {@link Hook} that can fail it
 * before it reaches the storage (the request was lost), after (it was done but the answer was
 * lost), hang it until the test lets it go, or slow it down. What the hook lets through is the real
 * storage's behaviour, so a test sees exactly what a flaky link to HDFS or S3 would do to the code
 * above.
 *
 * <pre>{@code
 * FaultyStorage s = new FaultyStorage(realStorage);
 * s.setHook(FaultyStorage.failAfter(s.operationCount() + 5));
 * }</pre>
 */
public final class FaultyStorage extends ForwardingStorage {

  /** The operations a hook sees; {@code OUTPUT_*}, {@code INPUT_*} are on returned files. */
  public enum Op {
    CREATE,
    CREATE_DIRECT,
    OPEN,
    OPEN_SEQUENTIAL,
    CREATE_FOLDER,
    CREATE_FOLDERS,
    SYNC_FOLDER,
    RENAME,
    LIST,
    LISTING,
    DELETE,
    DELETE_TREE,
    EXISTS,
    IS_FOLDER,
    SIZE,
    USABLE_SPACE,
    LOCK,
    TRY_LOCK,
    UNLOCK,
    OUTPUT_WRITE,
    OUTPUT_SYNC,
    OUTPUT_CLOSE,
    OUTPUT_ABORT,
    OUTPUT_SIZE,
    OUTPUT_TRUNCATE,
    INPUT_SIZE,
    INPUT_READ,
    INPUT_MAP,
    INPUT_CLOSE
  }

  /** Sees every operation, numbered from 0 in the order they are issued. */
  public interface Hook {
    /** Lets everything through. */
    Hook NONE = (index, op, name) -> {};

    /** Runs before the operation; throwing fails it without it reaching the storage. */
    void before(long index, Op op, String name) throws IOException;

    /** Runs after the operation succeeded; throwing fails it although it was done. */
    default void after(long index, Op op, String name) throws IOException {}
  }

  private final AtomicLong count = new AtomicLong();
  private volatile Hook hook = Hook.NONE;

  /** The storage with no faults yet ({@link Hook#NONE}). */
  public FaultyStorage(Storage inner) {
    super(inner);
  }

  /** Replaces the hook; operations already past their hook are not affected. */
  public void setHook(Hook hook) {
    this.hook = java.util.Objects.requireNonNull(hook, "hook");
  }

  /** Operations issued so far: the index the next one gets. */
  public long operationCount() {
    return count.get();
  }

  /** Fails operation {@code n} before it reaches the storage: the request was lost. */
  public static Hook failBefore(long n) {
    return (index, op, name) -> {
      if (index == n) {
        throw new IOException("simulated network failure before #" + n + " " + op + " " + name);
      }
    };
  }

  /** Lets operation {@code n} happen, then fails it: the answer was lost on the way back. */
  public static Hook failAfter(long n) {
    return new Hook() {
      @Override
      public void before(long index, Op op, String name) {}

      @Override
      public void after(long index, Op op, String name) throws IOException {
        if (index == n) {
          throw new IOException("simulated lost answer after #" + n + " " + op + " " + name);
        }
      }
    };
  }

  /** Slows operation {@code n} down by {@code delay} before it runs. */
  public static Hook delayAt(long n, Duration delay) {
    return (index, op, name) -> {
      if (index == n) {
        try {
          Thread.sleep(delay.toMillis());
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new InterruptedIOException("interrupted while delayed at #" + n + " " + op);
        }
      }
    };
  }

  /** Blocks operation {@code n} before it runs until {@code hang} is ended. */
  public static Hook hangAt(long n, Hang hang) {
    return (index, op, name) -> {
      if (index == n) {
        hang.block(index, op, name);
      }
    };
  }

  /**
   * A hung call the test controls: it blocks the caller until {@link #timeOut()} (the call then
   * fails as a client timeout would), {@link #proceed()} (it was only slow) or an interrupt of the
   * blocked thread (InterruptedIOException, interrupt status kept).
   */
  public static final class Hang {
    private final CountDownLatch reached = new CountDownLatch(1);
    private final CountDownLatch ended = new CountDownLatch(1);
    private volatile boolean fail;
    private volatile String where = "";

    /** Waits until a call is blocked here; false when none was within {@code limit}. */
    public boolean awaitReached(Duration limit) throws InterruptedException {
      return reached.await(limit.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** The blocked call, for messages: {@code "#12 OUTPUT_WRITE step-2/model.safetensors"}. */
    public String where() {
      return where;
    }

    /** Ends the hang with a SocketTimeoutException, as a client's read timeout would. */
    public void timeOut() {
      fail = true;
      ended.countDown();
    }

    /** Ends the hang by letting the call go on. */
    public void proceed() {
      ended.countDown();
    }

    void block(long index, Op op, String name) throws IOException {
      where = "#" + index + " " + op + " " + name;
      reached.countDown();
      try {
        ended.await();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new InterruptedIOException("interrupted while hung at " + where);
      }
      if (fail) {
        throw new SocketTimeoutException("simulated timeout of hung " + where);
      }
    }
  }

  @FunctionalInterface
  private interface Call<T> {
    T call() throws IOException;
  }

  @FunctionalInterface
  private interface VoidCall {
    void call() throws IOException;
  }

  private <T> T run(Op op, String name, Call<T> call) throws IOException {
    long index = count.getAndIncrement();
    Hook h = hook;
    h.before(index, op, name);
    T result = call.call();
    h.after(index, op, name);
    return result;
  }

  private void run(Op op, String name, VoidCall call) throws IOException {
    run(
        op,
        name,
        () -> {
          call.call();
          return null;
        });
  }

  @Override
  public Output create(String name) throws IOException {
    return new FaultyOutput(run(Op.CREATE, name, () -> inner.create(name)), name);
  }

  @Override
  public Optional<DirectOutput> createDirect(String name) throws IOException {
    return run(Op.CREATE_DIRECT, name, () -> inner.createDirect(name))
        .map(o -> new FaultyDirectOutput(o, name));
  }

  @Override
  public Input open(String name) throws IOException {
    return new FaultyInput(run(Op.OPEN, name, () -> inner.open(name)), name);
  }

  @Override
  public Input openSequential(String name) throws IOException {
    return new FaultyInput(run(Op.OPEN_SEQUENTIAL, name, () -> inner.openSequential(name)), name);
  }

  /**
   * The listing is one operation; each open of it is an {@code OPEN} or {@code OPEN_SEQUENTIAL}.
   */
  @Override
  public Listing listing(String folder) throws IOException {
    Listing listed = run(Op.LISTING, folder, () -> inner.listing(folder));
    return new Listing() {
      @Override
      public Input open(String file) throws IOException {
        String name = StorageNames.join(folder, file);
        return new FaultyInput(run(Op.OPEN, name, () -> listed.open(file)), name);
      }

      @Override
      public Input openSequential(String file) throws IOException {
        String name = StorageNames.join(folder, file);
        return new FaultyInput(
            run(Op.OPEN_SEQUENTIAL, name, () -> listed.openSequential(file)), name);
      }
    };
  }

  @Override
  public void createFolder(String name) throws IOException {
    run(Op.CREATE_FOLDER, name, () -> inner.createFolder(name));
  }

  @Override
  public void createFolders(String name) throws IOException {
    run(Op.CREATE_FOLDERS, name, () -> inner.createFolders(name));
  }

  @Override
  public void syncFolder(String name) throws IOException {
    run(Op.SYNC_FOLDER, name, () -> inner.syncFolder(name));
  }

  @Override
  public void rename(String from, String to) throws IOException {
    run(Op.RENAME, from + " -> " + to, () -> inner.rename(from, to));
  }

  @Override
  public List<String> list(String folder) throws IOException {
    return run(Op.LIST, folder, () -> inner.list(folder));
  }

  @Override
  public void delete(String name) throws IOException {
    run(Op.DELETE, name, () -> inner.delete(name));
  }

  @Override
  public void deleteTree(String name) throws IOException {
    run(Op.DELETE_TREE, name, () -> inner.deleteTree(name));
  }

  @Override
  public boolean exists(String name) throws IOException {
    return run(Op.EXISTS, name, () -> inner.exists(name));
  }

  @Override
  public boolean isFolder(String name) throws IOException {
    return run(Op.IS_FOLDER, name, () -> inner.isFolder(name));
  }

  @Override
  public long size(String name) throws IOException {
    return run(Op.SIZE, name, () -> inner.size(name));
  }

  @Override
  public OptionalLong usableSpace(String folder) throws IOException {
    return run(Op.USABLE_SPACE, folder, () -> inner.usableSpace(folder));
  }

  @Override
  public Lock lock(String name) throws IOException {
    return faultyLock(run(Op.LOCK, name, () -> inner.lock(name)), name);
  }

  @Override
  public Optional<Lock> tryLock(String name) throws IOException {
    return run(Op.TRY_LOCK, name, () -> inner.tryLock(name)).map(l -> faultyLock(l, name));
  }

  private Lock faultyLock(Lock lock, String name) {
    return () -> run(Op.UNLOCK, name, lock::close);
  }

  private class FaultyOutput implements Output {
    private final Output out;
    final String name;

    FaultyOutput(Output out, String name) {
      this.out = out;
      this.name = name;
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
      return run(Op.OUTPUT_WRITE, name, () -> out.write(src));
    }

    @Override
    public void sync() throws IOException {
      run(Op.OUTPUT_SYNC, name, out::sync);
    }

    @Override
    public void abort() throws IOException {
      run(Op.OUTPUT_ABORT, name, out::abort);
    }

    @Override
    public boolean isOpen() {
      return out.isOpen();
    }

    @Override
    public void close() throws IOException {
      run(Op.OUTPUT_CLOSE, name, out::close);
    }
  }

  private final class FaultyDirectOutput extends FaultyOutput implements DirectOutput {
    private final DirectOutput direct;

    FaultyDirectOutput(DirectOutput direct, String name) {
      super(direct, name);
      this.direct = direct;
    }

    @Override
    public int alignment() {
      return direct.alignment();
    }

    @Override
    public long size() throws IOException {
      return run(Op.OUTPUT_SIZE, name, direct::size);
    }

    @Override
    public void truncate(long size) throws IOException {
      run(Op.OUTPUT_TRUNCATE, name, () -> direct.truncate(size));
    }
  }

  private final class FaultyInput implements Input {
    private final Input in;
    private final String name;

    FaultyInput(Input in, String name) {
      this.in = in;
      this.name = name;
    }

    @Override
    public long size() throws IOException {
      return run(Op.INPUT_SIZE, name, in::size);
    }

    @Override
    public int read(ByteBuffer dst, long position) throws IOException {
      return run(Op.INPUT_READ, name, () -> in.read(dst, position));
    }

    @Override
    public ByteBuffer map(long position, long size) throws IOException {
      return run(Op.INPUT_MAP, name, () -> in.map(position, size));
    }

    @Override
    public void close() throws IOException {
      run(Op.INPUT_CLOSE, name, in::close);
    }
  }
}
