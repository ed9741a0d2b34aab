package dev.cairn.run;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What `cairn runs` says of a run whose session has no end record, from its process. */
class RunStatusTest {
  @TempDir Path runs;
  final ObjectMapper json = new ObjectMapper();

  /** A run folder whose open session was started by {@code pid} (started at {@code start}). */
  private Path run(String name, long pid, Instant start) throws Exception {
    Path dir = Files.createDirectories(runs.resolve(name));
    Files.writeString(dir.resolve("run.json"), "{\"id\":\"" + name + "\"}");
    ObjectNode s = json.createObjectNode();
    s.put("type", "start").put("session", 1).put("time", Instant.now().toString());
    new ProcessIdentity(Provenance.hostName(), pid, start).writeTo(s);
    Files.writeString(dir.resolve("sessions.jsonl"), s + "\n");
    ObjectNode p = json.createObjectNode();
    p.put("heartbeat", Instant.now().toString()).put("step", 7);
    p.put("last_step_time", Instant.now().toString());
    new ProcessIdentity(Provenance.hostName(), pid, start).writeTo(p);
    Files.writeString(dir.resolve("progress.json"), p.toString());
    return dir;
  }

  @Test
  void aGoneProcessIsDeadAtOnceThoughItsHeartbeatIsFresh() throws Exception {
    Process p = new ProcessBuilder("sleep", "600").start();
    Instant started = p.info().startInstant().orElseThrow();
    p.destroyForcibly();
    assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    Path dir = run("killed", p.pid(), started);
    RunStatus s = RunStatus.of(dir, Clock.systemUTC());
    assertThat(s.heartbeatAgeSeconds()).isLessThan(RunStatus.HEARTBEAT_TIMEOUT.toSeconds());
    assertThat(s.state()).isEqualTo(RunStatus.State.DEAD);
    assertThat(s.status()).isEqualTo("dead");
  }

  @Test
  void aPidTakenByAProcessStartedAtAnotherTimeIsNotTheSession() throws Exception {
    ProcessHandle self = ProcessHandle.current();
    Instant myStart = self.info().startInstant().orElseThrow();
    Path reused = run("reused", self.pid(), myStart.minusSeconds(3600));
    assertThat(RunStatus.of(reused, Clock.systemUTC()).state()).isEqualTo(RunStatus.State.DEAD);
    Path mine = run("mine", self.pid(), myStart);
    assertThat(RunStatus.of(mine, Clock.systemUTC()).state()).isEqualTo(RunStatus.State.RUNNING);
  }

  @Test
  void aLiveProcessWithAnOldHeartbeatIsStalled() throws Exception {
    ProcessHandle self = ProcessHandle.current();
    Path dir = run("old", self.pid(), self.info().startInstant().orElseThrow());
    Clock later = Clock.offset(Clock.systemUTC(), RunStatus.HEARTBEAT_TIMEOUT.plusSeconds(5));
    assertThat(RunStatus.of(dir, later).state()).isEqualTo(RunStatus.State.STALLED);
  }

  @Test
  void anotherHostsSessionIsJudgedByItsHeartbeat() throws Exception {
    Path dir = run("remote", 1, null);
    String other =
        Files.readString(dir.resolve("sessions.jsonl"))
            .replace(
                "\"host\":\"" + Provenance.hostName() + "\"", "\"host\":\"elsewhere.example\"");
    Files.writeString(dir.resolve("sessions.jsonl"), other);
    assertThat(RunStatus.of(dir, Clock.systemUTC()).state()).isEqualTo(RunStatus.State.RUNNING);
    Clock later = Clock.offset(Clock.systemUTC(), RunStatus.HEARTBEAT_TIMEOUT.plusSeconds(5));
    assertThat(RunStatus.of(dir, later).state()).isEqualTo(RunStatus.State.DEAD);
  }
}
