package dev.cairn.hadoop;

import dev.cairn.store.Storage;
import dev.cairn.testkit.StorageContract;
import java.io.IOException;
import org.gaul.s3proxy.junit.S3ProxyExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The storage contract on S3A against a real S3 endpoint. */
class S3aStorageContractTest extends StorageContract {
  @RegisterExtension static final S3ProxyExtension PROXY = S3Endpoint.extension();

  @Override
  protected Storage newStorage() throws IOException {
    return HadoopStorages.at(S3Endpoint.freshBucket(PROXY), S3Endpoint.configuration(PROXY));
  }
}
