package dev.cairn.coordination;

import java.util.List;

/** The only rank of its job: every call completes at once, as if the group were just this rank. */
final class SingleCoordinator extends GroupCoordinator {
  SingleCoordinator(RankEnvironment env) {
    super(env);
  }

  @Override
  List<byte[]> exchange(Call call) {
    return switch (call.op()) {
      case BARRIER -> List.of();
      case BROADCAST, ALL_GATHER -> List.of(call.payload());
    };
  }

  @Override
  void release() {
    // nothing held
  }
}
