package dev.cairn.coordination;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;

/** How launchers' variables become rank, size, attempt and the rendezvous address. */
class CoordinatorEnvironmentTest {
  @Test
  void withoutRankVariablesTheProcessIsAloneAndBehavesAsToday() throws Exception {
    try (Coordinator c = Coordinators.fromEnvironment(Map.of("PATH", "/bin"))) {
      assertThat(c).isInstanceOf(SingleCoordinator.class);
      assertThat(c.rank()).isZero();
      assertThat(c.worldSize()).isEqualTo(1);
      assertThat(c.attempt()).isZero();
    }
  }

  @Test
  void aWorldOfOneNeedsNoRendezvousButKeepsItsAttempt() throws Exception {
    try (Coordinator c =
        Coordinators.fromEnvironment(
            Map.of("RANK", "0", "WORLD_SIZE", "1", "TORCHELASTIC_RESTART_COUNT", "2"))) {
      assertThat(c).isInstanceOf(SingleCoordinator.class);
      assertThat(c.attempt()).isEqualTo(2);
    }
  }

  @Test
  void torchrunVariablesPutTheRendezvousOnTheNextPortAfterMasterPort() {
    RankEnvironment e =
        RankEnvironment.parse(
            Map.of(
                "RANK", "3",
                "WORLD_SIZE", "8",
                "LOCAL_RANK", "1",
                "MASTER_ADDR", "node-0",
                "MASTER_PORT", "29500",
                "TORCHELASTIC_RESTART_COUNT", "4"));
    assertThat(e).isEqualTo(new RankEnvironment(3, 8, 1, 4, "node-0", 29501, "node-0", null));
  }

  @Test
  void cairnCoordPortBindAndTokenOverride() {
    RankEnvironment e =
        RankEnvironment.parse(
            Map.of(
                "RANK", "0",
                "WORLD_SIZE", "2",
                "MASTER_ADDR", "job-master",
                "MASTER_PORT", "29500",
                "CAIRN_COORD_PORT", "40000",
                "CAIRN_COORD_BIND", "0.0.0.0",
                "CAIRN_COORD_TOKEN", "s3cret"));
    assertThat(e)
        .isEqualTo(new RankEnvironment(0, 2, 0, 0, "job-master", 40000, "0.0.0.0", "s3cret"));
  }

  @Test
  void slurmAndOpenMpiVariablesGiveRankAndSize() {
    Map<String, String> slurm =
        Map.of(
            "SLURM_PROCID", "5",
            "SLURM_NTASKS", "6",
            "SLURM_LOCALID", "1",
            "SLURM_RESTART_COUNT", "1",
            "MASTER_ADDR", "n1",
            "CAIRN_COORD_PORT", "41000");
    assertThat(RankEnvironment.parse(slurm))
        .isEqualTo(new RankEnvironment(5, 6, 1, 1, "n1", 41000, "n1", null));
    Map<String, String> mpi =
        Map.of(
            "OMPI_COMM_WORLD_RANK", "2",
            "OMPI_COMM_WORLD_SIZE", "4",
            "OMPI_COMM_WORLD_LOCAL_RANK", "0",
            "MASTER_ADDR", "n1",
            "MASTER_PORT", "29500");
    assertThat(RankEnvironment.parse(mpi))
        .isEqualTo(new RankEnvironment(2, 4, 0, 0, "n1", 29501, "n1", null));
  }

  @Test
  void torchrunVariablesWinOverSlurmOnes() {
    Map<String, String> both =
        Map.of(
            "RANK", "1",
            "WORLD_SIZE", "2",
            "SLURM_PROCID", "7",
            "SLURM_NTASKS", "8",
            "MASTER_ADDR", "h",
            "MASTER_PORT", "100");
    assertThat(RankEnvironment.parse(both).rank()).isEqualTo(1);
  }

  @Test
  void slurmWithoutAnAddressSaysWhichVariablesToSet() {
    assertThatThrownBy(
            () -> Coordinators.fromEnvironment(Map.of("SLURM_PROCID", "1", "SLURM_NTASKS", "4")))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "SLURM_PROCID/SLURM_NTASKS make this rank 1 of 4, but there is no rendezvous address:"
                + " set MASTER_ADDR (the host of rank 0) and MASTER_PORT or CAIRN_COORD_PORT");
  }

  @Test
  void badValuesAreNamedWithTheirRange() {
    assertThatThrownBy(() -> RankEnvironment.parse(Map.of("RANK", "4", "WORLD_SIZE", "4")))
        .hasMessage("RANK must be a whole number from 0 to 3, was '4'");
    assertThatThrownBy(() -> RankEnvironment.parse(Map.of("RANK", "0", "WORLD_SIZE", "x")))
        .hasMessage("WORLD_SIZE must be a whole number from 1 to 4096, was 'x'");
    assertThatThrownBy(() -> RankEnvironment.parse(Map.of("RANK", "1")))
        .hasMessage("set both RANK and WORLD_SIZE (only one of them is set)");
    assertThatThrownBy(
            () ->
                RankEnvironment.parse(
                    Map.of(
                        "RANK",
                        "0",
                        "WORLD_SIZE",
                        "2",
                        "MASTER_ADDR",
                        "h",
                        "MASTER_PORT",
                        "65535")))
        .hasMessage("MASTER_PORT must be a whole number from 1 to 65534, was '65535'");
    assertThatThrownBy(() -> RankEnvironment.parse(Map.of("TORCHELASTIC_RESTART_COUNT", "-1")))
        .hasMessage(
            "TORCHELASTIC_RESTART_COUNT must be a whole number from 0 to 2147483647, was '-1'");
  }
}
