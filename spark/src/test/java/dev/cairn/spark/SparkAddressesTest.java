package dev.cairn.spark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.cairn.coordination.CoordinationException;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** How task addresses become local ranks, and how rank 0's rendezvous address travels. */
class SparkAddressesTest {
  @Test
  void theLocalRankCountsTheEarlierTasksOnTheSameHostWhateverTheirPort() {
    String[] addresses = {"node-a:7077", "node-b:7077", "node-a:7078", "[::1]:4040", "node-b:7079"};
    assertThat(
            IntStream.range(0, addresses.length).map(r -> SparkCoordinator.localRank(addresses, r)))
        .containsExactly(0, 0, 1, 0, 1);
    assertThat(SparkCoordinator.host("[::1]:4040")).isEqualTo("::1");
    assertThat(SparkCoordinator.host("node-a:7077")).isEqualTo("node-a");
  }

  @Test
  void rankZerosAddressSurvivesAHostWithColons() throws Exception {
    SparkCoordinator.Address a = new SparkCoordinator.Address("fe80::1", 40123, "ab12");
    assertThat(SparkCoordinator.Address.parse(a.toString())).isEqualTo(a);
    assertThatThrownBy(() -> SparkCoordinator.Address.parse("node-a:notaport:ab12"))
        .isInstanceOf(CoordinationException.class)
        .hasMessage("rank 0's rendezvous address 'node-a:notaport:ab12' is not host:port:token");
    assertThatThrownBy(() -> SparkCoordinator.Address.parse(""))
        .isInstanceOf(CoordinationException.class);
  }
}
