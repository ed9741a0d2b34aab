package dev.cairn.coordination;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Rank 0 of a group: hosts the rendezvous and takes part in its rounds without a socket. */
final class HostCoordinator extends GroupCoordinator {
  private final Rendezvous rendezvous;

  private HostCoordinator(Rendezvous rendezvous) {
    super(rendezvous.environment());
    this.rendezvous = rendezvous;
  }

  static HostCoordinator start(RankEnvironment env) throws IOException {
    return new HostCoordinator(Rendezvous.start(env));
  }

  Rendezvous rendezvous() {
    return rendezvous;
  }

  @Override
  List<byte[]> exchange(Call call) throws IOException {
    CompletableFuture<List<byte[]>> answer = new CompletableFuture<>();
    rendezvous.arrive(
        0,
        call,
        new Round.Waiter() {
          @Override
          public void deliver(List<byte[]> result) {
            answer.complete(result);
          }

          @Override
          public void fail(CoordinationException e) {
            answer.completeExceptionally(e);
          }
        });
    try {
      // The rendezvous fails the round at its deadline; the margin only guards against a bug.
      return answer.get(PeerCoordinator.answerWithin(call.timeout()), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      CoordinationException c = (CoordinationException) e.getCause();
      throw new CoordinationException(c.getMessage(), c.missingRanks(), c);
    } catch (TimeoutException e) {
      throw new CoordinationException(
          call.describe() + ": the rendezvous did not answer in time", List.of(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      // Rank 0 will not take part any more: let the others fail now rather than at their timeout.
      rendezvous.abandon("rank 0 was interrupted during " + call.describe());
      throw new InterruptedIOException(call.describe() + " was interrupted");
    }
  }

  @Override
  void release() {
    rendezvous.close();
  }
}
