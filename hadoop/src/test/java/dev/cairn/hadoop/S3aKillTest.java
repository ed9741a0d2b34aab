package dev.cairn.hadoop;

import org.gaul.s3proxy.junit.S3ProxyExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

/** kill -9 of a writer saving to a real S3 endpoint (S3Proxy in this JVM) through S3A. */
class S3aKillTest extends RemoteKillContract {
  @RegisterExtension static final S3ProxyExtension PROXY = S3Endpoint.extension();

  @Override
  protected RemoteBackend backend() {
    return RemoteBackend.s3(PROXY);
  }
}
