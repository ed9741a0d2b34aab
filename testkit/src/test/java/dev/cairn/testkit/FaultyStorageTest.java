package dev.cairn.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cairn.store.Storage;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FaultyStorageTest {
  @TempDir Path dir;

  FaultyStorage storage() throws IOException {
    return new FaultyStorage(Storage.at(Files.createDirectories(dir.resolve("s"))));
  }

  @Test
  void numbersEveryCallIncludingThoseOnReturnedFiles() throws IOException {
    FaultyStorage s = storage();
    List<String> seen = new ArrayList<>();
    s.setHook((index, op, name) -> seen.add(index + " " + op + " " + name));
    try (Storage.Output out = s.create("a")) {
      out.write(ByteBuffer.wrap(new byte[] {1, 2}));
      out.sync();
    }
    try (Storage.Input in = s.open("a")) {
      in.read(ByteBuffer.allocate(2), 0);
    }
    s.rename("a", "b");
    assertThat(seen)
        .containsExactly(
            "0 CREATE a",
            "1 OUTPUT_WRITE a",
            "2 OUTPUT_SYNC a",
            "3 OUTPUT_CLOSE a",
            "4 OPEN a",
            "5 INPUT_READ a",
            "6 INPUT_CLOSE a",
            "7 RENAME a -> b");
    assertThat(s.operationCount()).isEqualTo(8);
  }

  @Test
  void aFailureBeforeLeavesTheStorageAloneAndOneAfterHasDoneTheOperation() throws IOException {
    FaultyStorage s = storage();
    s.setHook(FaultyStorage.failBefore(s.operationCount()));
    assertThatThrownBy(() -> s.createFolder("x")).isInstanceOf(IOException.class);
    assertThat(s.exists("x")).isFalse();
    s.setHook(FaultyStorage.failAfter(s.operationCount()));
    assertThatThrownBy(() -> s.createFolder("x")).hasMessageContaining("lost answer");
    assertThat(s.exists("x")).isTrue();
  }

  @Test
  void aHangBlocksUntilTheTestEndsIt() throws Exception {
    FaultyStorage s = storage();
    FaultyStorage.Hang timeout = new FaultyStorage.Hang();
    s.setHook(FaultyStorage.hangAt(s.operationCount(), timeout));
    CompletableFuture<Void> hung = CompletableFuture.runAsync(() -> createFolder(s, "x"));
    assertThat(timeout.awaitReached(Duration.ofMinutes(1))).isTrue();
    assertThat(hung).isNotDone();
    assertThat(timeout.where()).contains("CREATE_FOLDER x");
    timeout.timeOut();
    assertThatThrownBy(() -> hung.get(1, TimeUnit.MINUTES))
        .isInstanceOf(ExecutionException.class)
        .hasRootCauseInstanceOf(SocketTimeoutException.class);
    assertThat(s.exists("x")).isFalse();

    FaultyStorage.Hang slow = new FaultyStorage.Hang();
    s.setHook(FaultyStorage.hangAt(s.operationCount(), slow));
    CompletableFuture<Void> slowCall = CompletableFuture.runAsync(() -> createFolder(s, "y"));
    assertThat(slow.awaitReached(Duration.ofMinutes(1))).isTrue();
    slow.proceed();
    slowCall.get(1, TimeUnit.MINUTES);
    assertThat(s.exists("y")).isTrue();
  }

  @Test
  void anInterruptEndsAHangWithInterruptedIoException() throws Exception {
    FaultyStorage s = storage();
    FaultyStorage.Hang hang = new FaultyStorage.Hang();
    s.setHook(FaultyStorage.hangAt(s.operationCount(), hang));
    List<Throwable> thrown = new ArrayList<>();
    Thread t =
        new Thread(
            () -> {
              try {
                s.list("");
              } catch (IOException e) {
                thrown.add(e);
                thrown.add(new AssertionError("interrupted=" + Thread.interrupted()));
              }
            });
    t.start();
    assertThat(hang.awaitReached(Duration.ofMinutes(1))).isTrue();
    t.interrupt();
    t.join();
    assertThat(thrown.get(0)).isInstanceOf(InterruptedIOException.class);
    assertThat(thrown.get(1)).hasMessage("interrupted=true");
  }

  private static void createFolder(Storage s, String name) {
    try {
      s.createFolder(name);
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
