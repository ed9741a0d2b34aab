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

/**
 * Settings given with a location ({@code -D} on the command line) are the ones used, even where
 * Hadoop's FileSystem cache would hand out a client made with other settings for the same bucket.
 */
class StorageSettingsTest {
  @RegisterExtension
  static final org.gaul.s3proxy.junit.S3ProxyExtension S3 = S3Endpoint.extension();

  @Test
  void eachSetOfSettingsGetsItsOwnClientForTheSameBucket() throws IOException {
    URI bucket = S3Endpoint.freshBucket(S3);
    // Hadoop's FileSystem cache on, as users have it: it keeps one client per scheme and bucket.
    Map<String, String> right = new java.util.HashMap<>(S3Endpoint.settings(S3));
    right.remove("fs.s3a.impl.disable.cache");
    Map<String, String> wrong = new java.util.HashMap<>(right);
    wrong.put("fs.s3a.secret.key", "not-the-secret");
    Storage a = Storages.open(bucket + "runs", right);
    a.createFolders("");
    a.write("seen", out -> out.write(java.nio.ByteBuffer.wrap(new byte[] {1})));
    Storage b = Storages.open(bucket + "runs", wrong);
    assertThatThrownBy(() -> b.exists("seen"))
        .as("the wrong key is used, not the client the right one made")
        .isInstanceOf(IOException.class);
    assertThat(Storages.open(bucket + "runs", right).exists("seen")).isTrue();
  }

  @Test
  void hadoopClosingItsCachedClientsLeavesCairnsOpen() throws IOException {
    URI bucket = S3Endpoint.freshBucket(S3);
    Map<String, String> settings = new java.util.HashMap<>(S3Endpoint.settings(S3));
    settings.remove("fs.s3a.impl.disable.cache");
    Storage s = Storages.open(bucket + "runs", settings);
    s.createFolders("");
    // What Hadoop's shutdown hook does at SIGTERM, while a run pushes its last records.
    org.apache.hadoop.fs.FileSystem.closeAll();
    s.write("after", out -> out.write(java.nio.ByteBuffer.wrap(new byte[] {2})));
    assertThat(Storages.open(bucket + "runs", settings).exists("after")).isTrue();
  }
}
