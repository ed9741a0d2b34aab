package dev.cairn.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cairn.store.Storage;
import dev.cairn.store.Storages;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Storage chosen by location, without any provider on the classpath. */
class StoragesTest {
  @TempDir Path dir;

  @Test
  void plainPathsAndFileUrisAreTheLocalDisk() throws IOException {
    Storage a = Storages.open(dir.toString(), Map.of());
    Storage b = Storages.open(dir.toUri().toString(), Map.of());
    a.createFolder("x");
    assertThat(b.isFolder("x")).isTrue();
    assertThat(a.capabilities().locks()).isTrue();
    assertThat(Storages.isLocal("C:\\\\runs")).isTrue();
    assertThat(Storages.isLocal("relative/runs")).isTrue();
    assertThat(Storages.isLocal("hdfs://nn:8020/runs")).isFalse();
    assertThat(Storages.scheme("S3A://bucket/x")).isEqualTo("s3a");
    assertThat(Storages.scheme("odd:name/without-slashes")).isEmpty();
    assertThat(Storages.scheme("odd:/name")).isEmpty();
  }

  @Test
  void aFileUriWithOneSlashIsTheSameFolderAndABadOneIsAOneLineError() throws IOException {
    Storage a = Storages.open(dir.toString(), Map.of());
    Storage b = Storages.open("file:" + dir, Map.of());
    a.createFolder("x");
    assertThat(b.isFolder("x")).isTrue();
    assertThat(Storages.localPath("file:" + dir)).isEqualTo(dir);
    assertThat(Storages.localPath("FILE:" + dir)).isEqualTo(dir);
    assertThatThrownBy(() -> Storages.open("s3a:/bucket/runs", Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "'s3a:/bucket/runs' reads as a s3a: URI with one slash: write s3a://bucket/runs (or"
                + " ./s3a:/bucket/runs for a local folder of that name)");
    assertThat(Storages.localPath("./s3a:/bucket")).isEqualTo(Path.of("./s3a:/bucket"));
    for (String bad : new String[] {"file://otherhost/runs", "file:/runs/a b"}) {
      assertThatThrownBy(() -> Storages.open(bad, Map.of()))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith("'" + bad + "' is not a file URI of this machine")
          .hasMessageContaining("file:///absolute/path")
          .hasMessageNotContaining("\n");
    }
  }

  @Test
  void anUnknownSchemeSaysWhatToAdd() {
    assertThatThrownBy(() -> Storages.open("s3a://bucket/runs", Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no storage for scheme 's3a'")
        .hasMessageContaining("cairn-hadoop");
  }
}
