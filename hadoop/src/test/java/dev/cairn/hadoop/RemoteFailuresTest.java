package dev.cairn.hadoop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.cairn.checkpoint.CheckpointStore;
import dev.cairn.store.Storage;
import java.io.IOException;
import java.net.URI;
import java.security.PrivilegedExceptionAction;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.permission.FsPermission;
import org.apache.hadoop.security.UserGroupInformation;
import org.gaul.s3proxy.junit.S3ProxyExtension;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * What a user sees when a remote store cannot be used: one line naming the problem and what to
 * check, against real servers (S3Proxy, MiniDFSCluster), never a stack of SDK messages.
 */
class RemoteFailuresTest {
  @RegisterExtension static final S3ProxyExtension PROXY = S3Endpoint.extension();
  @RegisterExtension static final MiniHdfs hdfs = new MiniHdfs();

  @BeforeEach
  void aBucketSoTheProxyHasItsFolder() {
    // S3Proxy's extension fails to stop when no bucket was ever made in a test.
    S3Endpoint.freshBucket(PROXY);
  }

  /** Opens a checkpoint store there, as a job would, and returns what it threw. */
  private static Throwable openStore(URI root, Configuration conf) {
    return catchThrowable(
        () -> {
          Storage s = HadoopStorages.at(root, conf);
          CheckpointStore.builder(s).events(e -> {}).open().close();
        });
  }

  private static void assertOneLine(Throwable t, String phrase) {
    assertThat(t).isInstanceOf(IOException.class);
    assertThat(t.getMessage()).contains(phrase).doesNotContain("\n");
  }

  @Test
  void aMissingBucketIsNamed() {
    Configuration conf = S3Endpoint.configuration(PROXY);
    assertOneLine(
        openStore(URI.create("s3a://no-such-bucket-here/ck"), conf), "does not exist: create it");
  }

  @Test
  void refusedCredentialsAreNamed() {
    URI bucket = S3Endpoint.freshBucket(PROXY);
    Configuration conf = S3Endpoint.configuration(PROXY);
    conf.set("fs.s3a.secret.key", "not-the-secret");
    assertOneLine(openStore(bucket.resolve("ck"), conf), "credentials were refused");
  }

  @Test
  void missingCredentialsAreNamed() {
    URI bucket = S3Endpoint.freshBucket(PROXY);
    Configuration conf = S3Endpoint.configuration(PROXY);
    conf.unset("fs.s3a.access.key");
    conf.unset("fs.s3a.secret.key");
    assertOneLine(openStore(bucket.resolve("ck"), conf), "no credentials for");
  }

  @Test
  void anUnreachableEndpointIsNamed() throws IOException {
    Configuration conf = S3Endpoint.configuration(PROXY);
    int closed;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      closed = s.getLocalPort(); // free again once closed: nothing listens there
    }
    conf.set("fs.s3a.endpoint", "http://127.0.0.1:" + closed);
    conf.setInt("fs.s3a.attempts.maximum", 1);
    conf.setInt("fs.s3a.retry.limit", 1);
    conf.set("fs.s3a.retry.interval", "1ms");
    assertOneLine(openStore(URI.create("s3a://some-bucket/ck"), conf), "cannot reach");
  }

  @Test
  void anUnreachableNameNodeIsNamed() throws IOException {
    Configuration conf = new Configuration();
    conf.setInt("ipc.client.connect.max.retries", 0);
    conf.setInt("ipc.client.connect.max.retries.on.timeouts", 0);
    int closed;
    try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
      closed = s.getLocalPort();
    }
    assertOneLine(
        openStore(URI.create("hdfs://127.0.0.1:" + closed + "/ck"), conf), "cannot reach");
  }

  @Test
  void permissionDeniedOnHdfsIsNamed() throws Exception {
    URI folder = hdfs.freshFolder("private");
    FileSystem owner = FileSystem.get(folder, hdfs.configuration());
    owner.setPermission(new org.apache.hadoop.fs.Path(folder), new FsPermission((short) 0700));
    UserGroupInformation intruder =
        UserGroupInformation.createUserForTesting("intruder", new String[] {"nobody"});
    Throwable t =
        intruder.doAs(
            (PrivilegedExceptionAction<Throwable>)
                () -> openStore(folder.resolve(folder.getPath() + "/ck"), hdfs.configuration()));
    assertOneLine(t, "permission denied on");
  }
}
