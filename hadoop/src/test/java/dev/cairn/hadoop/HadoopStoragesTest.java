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
  void hdfsClientsWaitMillisecondsNotHalfASecondForACloseUnlessTheUserSaidOtherwise() {
    org.apache.hadoop.conf.Configuration defaults = new org.apache.hadoop.hdfs.HdfsConfiguration();
    assertThat(defaults.getInt(HadoopStorages.CLOSE_DELAY_KEY, -1)).isEqualTo(400);
    org.apache.hadoop.conf.Configuration tuned = HadoopStorages.withClientDefaults(defaults);
    assertThat(tuned.getInt(HadoopStorages.CLOSE_DELAY_KEY, -1)).isEqualTo(5);
    assertThat(tuned.getInt(HadoopStorages.CLOSE_RETRIES_KEY, -1)).isEqualTo(12);
    // Doubling from its first wait, the tuned client waits longer in all before a close fails
    // than Hadoop's own: a busy cluster is given at least as long.
    long tunedTotal =
        tuned.getInt(HadoopStorages.CLOSE_DELAY_KEY, -1)
            * ((1L << tuned.getInt(HadoopStorages.CLOSE_RETRIES_KEY, -1)) - 1);
    long hadoopTotal =
        defaults.getInt(HadoopStorages.CLOSE_DELAY_KEY, -1)
            * ((1L << defaults.getInt(HadoopStorages.CLOSE_RETRIES_KEY, -1)) - 1);
    assertThat(tunedTotal).isGreaterThan(hadoopTotal);
    assertThat(defaults.getInt(HadoopStorages.CLOSE_DELAY_KEY, -1)).as("a copy").isEqualTo(400);

    org.apache.hadoop.conf.Configuration own =
        HadoopStorages.configuration(Map.of(HadoopStorages.CLOSE_RETRIES_KEY, "8"));
    org.apache.hadoop.conf.Configuration kept = HadoopStorages.withClientDefaults(own);
    assertThat(kept.getInt(HadoopStorages.CLOSE_RETRIES_KEY, -1)).isEqualTo(8);
    assertThat(kept.get(HadoopStorages.CLOSE_DELAY_KEY))
        .as("the user's retries were counted against Hadoop's delay")
        .isIn(null, "400");
  }

  @Test
  void s3aReadsCheckpointsWithTheClassicStreamUnlessTheUserChoseAnother() {
    org.apache.hadoop.conf.Configuration plain = HadoopStorages.configuration(Map.of());
    assertThat(HadoopStorages.withClientDefaults("s3a", plain).get(HadoopStorages.S3A_STREAM_KEY))
        .isEqualTo("classic");
    assertThat(HadoopStorages.withClientDefaults("S3A", plain).get(HadoopStorages.S3A_STREAM_KEY))
        .isEqualTo("classic");
    assertThat(plain.get(HadoopStorages.S3A_STREAM_KEY)).as("a copy").isNotEqualTo("classic");
    org.apache.hadoop.conf.Configuration own =
        HadoopStorages.configuration(Map.of(HadoopStorages.S3A_STREAM_KEY, "analytics"));
    assertThat(HadoopStorages.withClientDefaults("s3a", own).get(HadoopStorages.S3A_STREAM_KEY))
        .isEqualTo("analytics");
    assertThat(HadoopStorages.withClientDefaults("hdfs", plain).get(HadoopStorages.S3A_STREAM_KEY))
        .as("only S3A's")
        .isNotEqualTo("classic");
  }

  @Test
  void theLocalDiskNeverGoesThroughHadoop() throws IOException {
    Storage s = Storages.open("file:///tmp", Map.of());
    assertThat(s.capabilities().locks()).as("LocalStorage, not Hadoop's LocalFileSystem").isTrue();
  }
}
