package dev.cairn.hadoop;

import dev.cairn.store.Storage;
import java.io.IOException;
import java.net.URI;
import java.util.Map;
import org.gaul.s3proxy.junit.S3ProxyExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

/** kill -9 of a writer saving to a real S3 endpoint (S3Proxy in this JVM) through S3A. */
class S3aKillTest extends RemoteKillContract {
  @RegisterExtension static final S3ProxyExtension PROXY = S3Endpoint.extension();

  @Override
  protected URI freshRoot() {
    return S3Endpoint.freshBucket(PROXY).resolve("runs/killed");
  }

  @Override
  protected Map<String, String> settings() {
    return S3Endpoint.settings(PROXY);
  }

  @Override
  protected Storage storage(URI root) throws IOException {
    return HadoopStorages.at(root, S3Endpoint.configuration(PROXY));
  }
}
