package dev.cairn.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cairn.testkit.CrashFileSystem;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The storage contract, run against every implementation and file system we ship or test on. */
class StorageContractTest {
  @TempDir static Path shared;
  static int counter;

  record Setup(String name, Storage storage, Path root) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Arguments> setups() throws IOException {
    Path a = shared.resolve("local" + counter++);
    Path b = shared.resolve("marker" + counter++);
    Path c = shared.resolve("crash" + counter++);
    Files.createDirectories(a);
    Files.createDirectories(b);
    return Stream.of(
        Arguments.of(new Setup("local", Storage.local(), a)),
        Arguments.of(
            new Setup("local without atomic rename", Storage.localWithoutAtomicRename(), b)),
        Arguments.of(
            new Setup(
                "local on CrashFileSystem", Storage.local(), CrashFileSystem.wrap(c).root())));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("setups")
  void createFailsWhenTheFileExists(Setup s) throws IOException {
    Path f = s.root().resolve("a");
    try (FileChannel ch = s.storage().create(f)) {
      ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3}));
      s.storage().sync(ch);
    }
    assertThatThrownBy(() -> s.storage().create(f)).isInstanceOf(FileAlreadyExistsException.class);
    assertThat(s.storage().size(f)).isEqualTo(3);
    try (FileChannel ch = s.storage().openRead(f)) {
      assertThat(ch.size()).isEqualTo(3);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("setups")
  void foldersRenameListAndDelete(Setup s) throws IOException {
    Storage st = s.storage();
    Path d = s.root().resolve("x/y/z");
    st.createFolders(d);
    st.createFolders(d);
    assertThat(st.isFolder(d)).isTrue();
    assertThatThrownBy(() -> st.createFolder(d)).isInstanceOf(FileAlreadyExistsException.class);
    st.create(d.resolve("b")).close();
    st.create(d.resolve("a")).close();
    assertThat(st.list(d)).extracting(p -> p.getFileName().toString()).containsExactly("a", "b");
    st.syncFolder(d);
    Path moved = s.root().resolve("x/moved");
    st.rename(d, moved);
    assertThat(st.exists(d)).isFalse();
    assertThat(st.exists(moved.resolve("a"))).isTrue();
    st.createFolder(s.root().resolve("x/other"));
    assertThatThrownBy(() -> st.rename(moved, s.root().resolve("x/other")))
        .isInstanceOf(FileAlreadyExistsException.class);
    st.deleteTree(s.root().resolve("x"));
    assertThat(st.exists(s.root().resolve("x"))).isFalse();
    st.deleteTree(s.root().resolve("x"));
    st.delete(s.root().resolve("never-existed"));
    assertThat(st.usableSpace(s.root())).isPositive();
  }
}
