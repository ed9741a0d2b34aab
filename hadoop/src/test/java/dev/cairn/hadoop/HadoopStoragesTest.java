package dev.cairn.hadoop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cairn.store.Storage;
import dev.cairn.store.Storages;
import java.io.IOException;
import java.net.URI;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/** Locations reach Hadoop through the provider on the classpath, settings included. */
class HadoopStoragesTest {
  @RegisterExtension static final MiniHdfs hdfs = new MiniHdfs();

  @Test
  void anHdfsLocationOpensThroughTheProviderWithTheGivenSettings() throws IOException {
    URI folder = hdfs.freshFolder("spi");
    Map<String, String> settings = Map.of(HadoopStorages.ATOMIC_RENAME_KEY, "false");
    Storage s = Storages.open(folder.toString(), settings);
    assertThat(s.location("")).isEqualTo(folder.toString());
    assertThat(s.capabilities().atomicRename()).as("the setting wins").isFalse();
    assertThat(Storages.open(folder.toString(), Map.of()).capabilities().atomicRename()).isTrue();
    s.createFolder("x");
    assertThat(s.list("")).containsExactly("x");
  }

  @Test
  void aSchemeHadoopDoesNotKnowIsAOneLineError() {
    assertThatThrownBy(() -> Storages.open("nosuchfs://host/runs", Map.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no Hadoop FileSystem for scheme 'nosuchfs'")
        .hasMessageNotContaining("\n");
  }

  @Test
  void theLocalDiskNeverGoesThroughHadoop() throws IOException {
    Storage s = Storages.open("file:///tmp", Map.of());
    assertThat(s.capabilities().locks()).as("LocalStorage, not Hadoop's LocalFileSystem").isTrue();
  }
}
