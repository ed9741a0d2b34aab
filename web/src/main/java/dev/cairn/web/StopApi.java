package dev.cairn.web;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.cairn.control.ControlFolder;
import dev.cairn.control.SaveRequest;
import dev.cairn.run.RunStatus;
import io.javalin.http.Context;
import java.io.IOException;
import java.time.Clock;

/**
 * {@code POST /api/runs/{run}/stop}: files a stop request in the run's control folder. The job
 * saves at its next step (answered with the usual save_request_done event carrying the request id)
 * and ends its session as stopped. Same rules as a save: token, this server's Origin, POST only.
 */
final class StopApi {
  private final RunCatalog catalog;
  private final Clock clock;

  StopApi(RunCatalog catalog, Clock clock) {
    this.catalog = catalog;
    this.clock = clock;
  }

  void stop(Context ctx) throws IOException {
    RunView run = catalog.resolve(ctx.pathParam("run"));
    Api.body(ctx); // bounded and JSON when given; a stop takes no parameters
    RunStatus status = RunStatus.of(run.dir(), clock);
    if (!status.status().equals("running") && !status.status().equals("stalled")) {
      throw ApiError.conflict(
          "run '" + run.name() + "' is " + status.status() + ": only a running job can be stopped");
    }
    SaveRequest r = new ControlFolder(run.files().control()).requestStop();
    ObjectNode o = Json.MAPPER.createObjectNode();
    o.put("request_id", r.id());
    o.put("run", run.name());
    o.put("step", status.step());
    Api.send(ctx, 202, o);
  }
}
