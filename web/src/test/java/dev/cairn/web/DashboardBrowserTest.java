package dev.cairn.web;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.cairn.run.Cairn;
import dev.cairn.run.Run;
import dev.cairn.run.RunOptions;
import java.io.File;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The dashboard in a real headless Chromium (Debian's chromium and chromium-driver, installed by
 * .ci/run), against a training job in another process: open the tokened URL, see the runs and a
 * chart with data, save a named checkpoint from the page and see the toast and the new row, watch
 * the chart grow, compare two runs, overlay the ranks of a run of several ranks. Screenshots of
 * each page go to target/screenshots.
 */
class DashboardBrowserTest {
  private static final Path CHROMIUM = Path.of("/usr/bin/chromium");
  private static final Path DRIVER = Path.of("/usr/bin/chromedriver");
  private static final Path SHOTS = Path.of("target", "screenshots");

  @TempDir static Path runs;
  @TempDir static Path profile;
  static Process job;
  static Dashboard dashboard;
  static WebDriver browser;
  static WebDriverWait wait;

  @BeforeAll
  static void start() throws Exception {
    Assumptions.assumeTrue(
        Files.isExecutable(CHROMIUM) && Files.isExecutable(DRIVER),
        "browser tests need Debian's chromium and chromium-driver:"
            + " sudo apt-get install chromium chromium-driver (.ci/run does this)");
    try (Run r =
        Cairn.open(
            runs,
            RunOptions.named("baseline")
                .config(
                    Map.of(
                        "steps",
                        400,
                        "lr",
                        0.1,
                        "model",
                        Map.of("size", 64),
                        // Long values without spaces: the config table must wrap them.
                        "data",
                        "/datasets/" + "shard-0001-of-4096/".repeat(16),
                        "layers",
                        java.util.Collections.nCopies(80, 256)))
                .totalSteps(400))) {
      for (int s = 0; s < 400; s++) {
        r.log(s, Map.of("loss", 2.0 / (1 + s * 0.05), "lr", 0.1));
      }
      r.finish(Map.of());
    }
    job = Jobs.start(runs, "live", 1_000_000, 3);
    dashboard = Dashboard.builder(runs).port(0).pollInterval(100).start();
    Jobs.awaitStep(runs.resolve("live"), 100);
    ChromeOptions options = new ChromeOptions();
    options.setBinary(CHROMIUM.toFile());
    options.addArguments(
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-extensions",
        "--window-size=1400,1100",
        "--user-data-dir=" + profile.toAbsolutePath());
    ChromeDriverService service =
        new ChromeDriverService.Builder()
            .usingDriverExecutable(DRIVER.toFile())
            .usingAnyFreePort()
            .build();
    browser = new ChromeDriver(service, options);
    // Every wait ends on what the page shows; the limit only stops a hang. It is generous because
    // a wait can span a child job's JVM start and save, which took over 60 s with both vCPUs 15
    // times oversubscribed (load average 30, JDK 25 run beside five builds).
    wait = new WebDriverWait(browser, Duration.ofSeconds(300), Duration.ofMillis(100));
    wait.ignoring(org.openqa.selenium.StaleElementReferenceException.class);
    Files.createDirectories(SHOTS);
  }

  @AfterAll
  static void stop() throws Exception {
    if (browser != null) {
      browser.quit();
    }
    if (dashboard != null) {
      dashboard.close();
    }
    if (job != null) {
      job.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
  }

  static void screenshot(String name) throws Exception {
    File f = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
    Files.copy(f.toPath(), SHOTS.resolve(name + ".png"), StandardCopyOption.REPLACE_EXISTING);
  }

  /**
   * The text of the element {@code by} finds, found again if the page re-rendered it in between
   * (the runs table and the run header are rebuilt as the job reports): a plain findElement and
   * getText can meet a stale element.
   */
  static String text(By by) {
    return wait.until(d -> d.findElement(by).getText());
  }

  /** Clicks the element {@code by} finds, found again if the page re-rendered it meanwhile. */
  static void click(By by) {
    wait.until(
        d -> {
          d.findElement(by).click();
          return true;
        });
  }

  static long attr(By by, String name) {
    String v = browser.findElement(by).getAttribute(name);
    return v == null || v.isEmpty() ? -1 : Long.parseLong(v);
  }

  @Test
  void watchSaveAndCompareInARealBrowser() throws Exception {
    browser.get(dashboard.url());
    // The token was swapped for a cookie: it is gone from the address bar.
    wait.until(d -> d.getCurrentUrl().endsWith("/") || d.getCurrentUrl().endsWith("/#/"));
    assertThat(browser.getCurrentUrl()).doesNotContain("token");
    By liveRow = By.cssSelector("#runs-table tr[data-run='live']");
    wait.until(d -> d.findElements(liveRow).size() == 1);
    wait.until(d -> d.findElement(liveRow).getText().contains("running"));
    assertThat(text(By.cssSelector("#runs-table tr[data-run='baseline']"))).contains("finished");
    screenshot("1-runs");

    click(By.cssSelector("tr[data-run='live'] a.run-link"));
    By loss = By.cssSelector(".chart-card[data-chart='loss']");
    wait.until(d -> attr(loss, "data-points") > 10);
    wait.until(
        d -> !d.findElements(By.cssSelector(".chart-card[data-chart='loss'] canvas")).isEmpty());
    long firstStep = attr(loss, "data-last-step");
    assertThat(firstStep).isPositive();
    assertThat(attr(By.cssSelector(".chart-card[data-chart='lr']"), "data-points")).isPositive();
    wait.until(d -> d.findElement(By.id("config")).getText().contains("lr"));
    // The System panel: the job's sampler wrote system.jsonl; CPU and memory are drawn over time.
    wait.until(d -> d.findElement(By.id("system-panel")).isDisplayed());
    wait.until(
        d -> attr(By.cssSelector(".chart-card[data-chart='system-memory']"), "data-points") > 0);
    assertThat(text(By.id("system-latest"))).contains("heap").contains("disk free");
    assertThat(
            browser
                .findElement(By.cssSelector(".chart-card[data-chart='system-gpu']"))
                .isDisplayed())
        .as("no nvidia-smi here: no GPU chart")
        .isFalse();
    screenshot("2-run");

    assertThat(saveFromPage("from-browser")).startsWith("manual-step-");
    // Texts are read inside the waits: the table is redrawn whenever a checkpoint lands, and a
    // toast goes away by itself, so an element found once may be gone the next moment.
    String toast =
        waitFor(
            "the toast saying the save is done",
            d -> firstText(d, By.cssSelector("#toasts .toast-ok"), "Saved step", null));
    assertThat(toast).contains("from-browser").contains("/checkpoints/step-");
    By row = By.xpath("//table[@id='checkpoints-table']//tr[td[normalize-space()='from-browser']]");
    String saved = waitFor("the new row", d -> firstText(d, row, "", "data-step"));
    assertThat(saved).contains("pinned");
    String step = saved.substring(saved.lastIndexOf('@') + 1);
    assertThat(toast).contains("step-" + step);
    assertThat(runs.resolve("live/checkpoints/step-" + step + "/manifest.json")).exists();
    screenshot("3-saved");

    // The chart follows the job: new points arrive over the event stream.
    wait.until(d -> attr(loss, "data-last-step") > firstStep + 100);
    assertThat(browser.findElements(By.cssSelector("#toasts .toast-error"))).isEmpty();
    screenshot("4-grown");

    // A refused save is an error toast that says why (the name is taken).
    saveFromPage("from-browser");
    String refused =
        waitFor(
            "the toast saying why the save was refused",
            d -> firstText(d, By.cssSelector("#toasts .toast-error"), "", null));
    assertThat(refused)
        .contains("Save refused")
        .contains("already has a checkpoint named 'from-browser'");

    browser.get(bare(dashboard));
    wait.until(d -> d.findElements(By.cssSelector("#runs-table input.pick")).size() == 2);
    for (String run : List.of("live", "baseline")) {
      click(By.cssSelector("#runs-table tr[data-run='" + run + "'] input.pick"));
    }
    wait.until(d -> d.findElement(By.id("compare-btn")).isEnabled());
    click(By.id("compare-btn"));
    By overlay = By.cssSelector(".chart-card[data-chart='compare']");
    wait.until(d -> attr(overlay, "data-points") > 10);
    WebElement diff = browser.findElement(By.id("config-diff"));
    wait.until(d -> diff.getText().contains("lr"));
    assertThat(diff.getText()).contains("0.1").contains("0.05");
    List<WebElement> legend = browser.findElements(By.cssSelector(".u-legend .u-series"));
    assertThat(legend.size()).isGreaterThanOrEqualTo(3); // step + two runs
    screenshot("5-compare");

    // Stop: confirm, the job saves at its next step and ends its session as stopped.
    // bare() already ends with "#/": appending "#/run/live" made the hash "#/#/run/live", which
    // no route matches, so the runs list was shown and no Stop button ever appeared.
    browser.get(bare(dashboard) + "run/live"); // same document: the token stays in its session
    WebElement stop = wait.until(d -> d.findElement(By.id("stop-btn")));
    wait.until(d -> stop.isEnabled());
    stop.click();
    WebElement confirm = browser.findElement(By.id("stop-ok"));
    wait.until(d -> confirm.isDisplayed());
    screenshot("6-stop-dialog");
    confirm.click();
    WebElement stopping =
        wait.until(
            d ->
                d.findElements(By.cssSelector("#toasts .toast-ok")).stream()
                    .filter(t -> t.getText().startsWith("Stopping: saved step"))
                    .findFirst()
                    .orElse(null));
    java.util.regex.Matcher m =
        java.util.regex.Pattern.compile("saved step (\\d+)").matcher(stopping.getText());
    assertThat(m.find()).isTrue();
    long stoppedAt = Long.parseLong(m.group(1));
    wait.until(d -> d.findElement(By.cssSelector(".toolbar")).getText().contains("stopped"));
    wait.until(
        d ->
            d.findElements(By.cssSelector("#toasts .toast-ok")).stream()
                .anyMatch(t -> t.getText().contains("is stopped at step")));
    assertThat(job.waitFor(300, TimeUnit.SECONDS)).as("the job ended by itself").isTrue();
    assertThat(job.exitValue()).isZero();
    assertThat(Files.readString(runs.resolve("live.out"))).contains("STOPPED " + stoppedAt);
    assertThat(runs.resolve("live/checkpoints/step-" + stoppedAt + "/manifest.json")).exists();
    assertThat(stop.isEnabled()).isFalse();
    assertThat(text(By.cssSelector(".run-head")))
        .as("the sessions count, read from the run's details after the stop")
        .doesNotContain("object")
        .containsPattern("(?i)sessions\\s+1(\\s|$)");
    screenshot("7-stopped");

    // Started again, the job resumes from the checkpoint Stop made, and the page follows it.
    job = Jobs.start(runs, "live", 1_000_000, 3);
    wait.until(d -> d.findElement(By.cssSelector(".toolbar")).getText().contains("running"));
    Path events = runs.resolve("live/events.jsonl");
    Jobs.await(
        "the resumed event",
        60_000,
        () -> {
          try {
            return Files.readString(events).contains("\"type\":\"resumed\"");
          } catch (java.io.IOException e) {
            return false;
          }
        });
    com.fasterxml.jackson.databind.JsonNode resumed = null;
    for (String line : Files.readAllLines(events)) {
      com.fasterxml.jackson.databind.JsonNode e =
          new com.fasterxml.jackson.databind.ObjectMapper().readTree(line);
      if (e.path("type").asText().equals("resumed")) {
        resumed = e;
      }
    }
    assertThat(resumed).isNotNull();
    assertThat(resumed.path("step").asLong()).isEqualTo(stoppedAt);
  }

  @Test
  void runPagesShowNoObjectTextFitAt1400PixelsAndHaveAFavicon() throws Exception {
    browser.get(dashboard.url());
    wait.until(d -> d.findElements(By.cssSelector("#runs-table tr[data-run='live']")).size() == 1);
    JavascriptExecutor js = (JavascriptExecutor) browser;
    for (String run : List.of("baseline", "live")) {
      // Watch every change of the page while it loads: a wrong text shown only until the first
      // update from the event stream counts too.
      browser.get(bare(dashboard));
      wait.until(d -> d.findElements(By.cssSelector("#runs-table tr[data-run]")).size() >= 2);
      js.executeScript(
          "window.objectText = [];"
              + "new MutationObserver(function () {"
              + "  var t = document.body.textContent, i = t.indexOf('[object');"
              + "  if (i >= 0) window.objectText.push(t.substring(Math.max(0, i - 40), i + 20));"
              + "}).observe(document.body, { subtree: true, childList: true, characterData: true });"
              + "location.hash = '#/run/' + arguments[0];",
          run);
      By loss = By.cssSelector(".chart-card[data-chart='loss']");
      wait.until(d -> attr(loss, "data-points") > 10);
      wait.until(d -> !d.findElements(By.cssSelector("#sessions .session")).isEmpty());
      wait.until(d -> d.findElement(By.id("config")).getText().contains("lr"));
      if (run.equals("live")) {
        wait.until(
            d -> !d.findElements(By.cssSelector("#checkpoints-table tr[data-ckpt]")).isEmpty());
      }
      assertThat(js.executeScript("return window.innerWidth")).isEqualTo(1400L);
      assertThat(String.valueOf(js.executeScript("return window.objectText.join(' | ')")))
          .as("the %s page never shows [object ...]", run)
          .isEmpty();
      String text = (String) js.executeScript("return document.body.innerText");
      assertThat(text).as("the %s page", run).doesNotContain("[object").doesNotContain("undefined");
      Object sessions =
          js.executeScript(
              "var s = Array.from(document.querySelectorAll('.run-head .stat')).filter("
                  + "function (e) { return e.querySelector('small').textContent === 'sessions'; });"
                  + "return s.length ? s[0].querySelector('b').textContent : null;");
      // Read from the run folder: the Stop test restarts "live", so it may be in session 2.
      assertThat(String.valueOf(sessions))
          .as("the %s page's session count", run)
          .isEqualTo(String.valueOf(startedSessions(run)));
      Object overflow =
          js.executeScript(
              "var w = document.documentElement.clientWidth, out = [];"
                  + "document.querySelectorAll('body *').forEach(function (e) {"
                  + "  var r = e.getBoundingClientRect();"
                  + "  if (r.right > w + 0.5) out.push(e.tagName + '.' + e.className + ' ' +"
                  + " Math.round(r.right)); });"
                  + "return document.documentElement.scrollWidth + ' > ' + w + ': ' +"
                  + " out.slice(0, 10).join(', ');");
      assertThat(
              (Long) js.executeScript("return document.documentElement.scrollWidth")
                  <= (Long) js.executeScript("return document.documentElement.clientWidth"))
          .as("no horizontal scrolling on the %s page at 1400 px: %s", run, overflow)
          .isTrue();
      screenshot("6-" + run + "-1400px");
    }
    Object favicon =
        js.executeAsyncScript(
            "var done = arguments[arguments.length - 1];"
                + "fetch('/favicon.ico').then(function (r) {"
                + "  done(r.status + ' ' + r.headers.get('content-type')); });");
    assertThat(String.valueOf(favicon)).startsWith("200 image/");
  }

  @Test
  void anotherLocalServerInTheSameBrowserGetsNoToken() throws Exception {
    List<String> seen = new CopyOnWriteArrayList<>();
    HttpServer other = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    other.createContext(
        "/",
        ex -> {
          StringBuilder b = new StringBuilder(ex.getRequestMethod() + " " + ex.getRequestURI());
          ex.getRequestHeaders().forEach((k, v) -> b.append('\n').append(k).append(": ").append(v));
          seen.add(b.toString());
          byte[] page =
              "<!doctype html><title>other</title><img src=/pixel.png><p>another local app"
                  .getBytes(StandardCharsets.UTF_8);
          ex.getResponseHeaders().add("Content-Type", "text/html");
          ex.sendResponseHeaders(200, page.length);
          ex.getResponseBody().write(page);
          ex.close();
        });
    other.start();
    try {
      // The dashboard in use: the runs list, a run page (fetches and the event stream).
      browser.get(dashboard.url());
      wait.until(
          d -> d.findElements(By.cssSelector("#runs-table tr[data-run='live']")).size() == 1);
      browser.get(bare(dashboard) + "run/live");
      wait.until(d -> attr(By.cssSelector(".chart-card[data-chart='loss']"), "data-points") > 10);
      wait.until(d -> d.findElement(By.id("connection")).getText().equals("live"));
      String otherUrl = "http://127.0.0.1:" + other.getAddress().getPort() + "/";
      browser.get(otherUrl);
      wait.until(d -> d.getTitle().equals("other"));
      browser.get(otherUrl + "again?x=1");
      wait.until(d -> seen.size() >= 2);
      String script =
          "return document.cookie + ' | ' + JSON.stringify(sessionStorage) + ' | ' +"
              + " JSON.stringify(localStorage)";
      String storage = (String) ((JavascriptExecutor) browser).executeScript(script);
      assertThat(String.join("\n\n", seen)).isNotEmpty().doesNotContain(tokenOf());
      assertThat(storage).doesNotContain(tokenOf());
    } finally {
      other.stop(0);
    }
  }

  @Test
  void twoDashboardsOnDifferentPortsWorkInOneBrowser() throws Exception {
    Path otherToken = profile.resolveSibling(profile.getFileName() + "-second-token");
    try (Dashboard second =
        Dashboard.builder(runs).port(0).pollInterval(100).tokenFile(otherToken).start()) {
      assertThat(second.url()).isNotEqualTo(dashboard.url());
      By liveRow = By.cssSelector("#runs-table tr[data-run='live']");
      browser.get(dashboard.url());
      wait.until(d -> d.findElements(liveRow).size() == 1);
      browser.get(second.url());
      wait.until(d -> d.findElements(liveRow).size() == 1);
      // Back to the first by its plain address: it still has its own credential.
      for (Dashboard d : List.of(dashboard, second, dashboard)) {
        browser.get(bare(d));
        wait.until(b -> b.findElements(liveRow).size() == 1);
        wait.until(b -> b.findElement(liveRow).getText().contains("running"));
        assertThat(browser.findElements(By.cssSelector("#toasts .toast-error")))
            .as("no refusal on port %d", d.port())
            .isEmpty();
      }
    }
  }

  @Test
  void aRunOfSeveralRanksOverlaysOneLinePerRank(@TempDir Path own) throws Exception {
    int steps = 200;
    GroupRuns.finished(own, "group", 3, steps);
    try (Run r = Cairn.open(own, RunOptions.named("alone").totalSteps(steps))) {
      for (int s = 0; s < steps; s++) {
        r.log(s, Map.of("loss", GroupRuns.loss(0, s), "lr", GroupRuns.lr(0)));
      }
      r.finish(Map.of());
    }
    try (Dashboard d = Dashboard.builder(own).port(0).pollInterval(100).start()) {
      browser.get(d.url());
      By groupRow = By.cssSelector("#runs-table tr[data-run='group']");
      wait.until(b -> b.findElements(groupRow).size() == 1);
      assertThat(text(groupRow)).contains("3 ranks");
      assertThat(text(By.cssSelector("#runs-table tr[data-run='alone']"))).doesNotContain("ranks");

      // Overlaid by default, as TensorBoard overlays runs: one whole line per rank.
      browser.get(bare(d) + "run/group");
      wait.until(b -> b.findElement(By.id("run-title")).getText().equals("group"));
      By loss = By.cssSelector(".chart-card[data-chart='loss']");
      wait.until(b -> attr(loss, "data-lines") == 3 && attr(loss, "data-points") == 3L * steps);
      assertThat(legend("loss")).containsExactly("step", "rank 0", "rank 1", "rank 2");
      assertThat(legend("lr")).containsExactly("step", "rank 0", "rank 1", "rank 2");
      assertThat(text(By.id("ranks-bar"))).contains("all 3 ranks");
      screenshot("8-ranks");

      // Unticked: rank 0 alone, the run's own metrics, drawn as for a run of one process.
      browser.findElement(By.id("all-ranks")).click();
      wait.until(b -> attr(loss, "data-lines") == 2);
      assertThat(legend("loss")).hasSize(3).startsWith("step", "loss");
      assertThat(attr(loss, "data-points")).isEqualTo(2L * steps);

      // A run of one process shows no toggle and its charts as before.
      browser.get(bare(d) + "run/alone");
      wait.until(b -> b.findElement(By.id("run-title")).getText().equals("alone"));
      wait.until(b -> attr(loss, "data-lines") == 2);
      assertThat(browser.findElement(By.id("ranks-bar")).isDisplayed()).isFalse();
      assertThat(legend("loss")).hasSize(3).startsWith("step", "loss");
      assertThat(browser.findElements(By.cssSelector("#toasts .toast-error"))).isEmpty();
    }
  }

  /** The labels of a chart's legend, the x axis first. */
  private static List<String> legend(String chart) {
    Object labels =
        ((JavascriptExecutor) browser)
            .executeScript(
                "return Array.from(document.querySelectorAll(\".chart-card[data-chart='\""
                    + " + arguments[0] + \"'] .u-legend .u-series th\")).map("
                    + "function (e) { return e.textContent.trim(); });",
                chart);
    return ((List<?>) labels).stream().map(String::valueOf).toList();
  }

  /**
   * The text of the first element found that contains {@code contains}, with "@" and the value of
   * {@code attribute} appended when one is named; null when none (or it went stale).
   */
  private static String firstText(WebDriver d, By by, String contains, String attribute) {
    for (WebElement e : d.findElements(by)) {
      try {
        String text = e.getText();
        if (text.contains(contains)) {
          return attribute == null ? text : text + "@" + e.getAttribute(attribute);
        }
      } catch (org.openqa.selenium.StaleElementReferenceException gone) {
        return null; // redrawn meanwhile: the next poll finds the new one
      }
    }
    return null;
  }

  /** Waits like {@code wait.until}; a timeout fails saying what the page showed meanwhile. */
  private static <T> T waitFor(String what, java.util.function.Function<WebDriver, T> until)
      throws Exception {
    try {
      return wait.until(until::apply);
    } catch (org.openqa.selenium.TimeoutException e) {
      screenshot("timeout");
      String toasts =
          String.valueOf(
              ((JavascriptExecutor) browser)
                  .executeScript(
                      "return document.getElementById('connection').textContent + ' | toasts: '"
                          + " + Array.from(document.querySelectorAll('#toasts .toast')).map("
                          + "function (t) { return t.className + ': ' + t.textContent; })"
                          + ".join(' / ')"));
      throw new AssertionError("timed out waiting for " + what + "; the page showed " + toasts, e);
    }
  }

  /** The dashboard's address without the token: what a person types or bookmarks. */
  /** How many sessions the run's sessions.jsonl says were started. */
  private static long startedSessions(String run) throws java.io.IOException {
    com.fasterxml.jackson.databind.ObjectMapper json =
        new com.fasterxml.jackson.databind.ObjectMapper();
    long n = 0;
    for (String line : Files.readAllLines(runs.resolve(run).resolve("sessions.jsonl"))) {
      if (!line.isBlank() && json.readTree(line).path("type").asText().equals("start")) {
        n++;
      }
    }
    return n;
  }

  private static String bare(Dashboard d) {
    return "http://127.0.0.1:" + d.port() + "/#/";
  }

  /** Presses Save Checkpoint, types the name, confirms; returns the name the dialog suggested. */
  private static String saveFromPage(String typed) {
    WebElement save = browser.findElement(By.id("save-btn"));
    wait.until(d -> save.isEnabled());
    save.click();
    WebElement name = browser.findElement(By.id("save-name"));
    wait.until(d -> name.isDisplayed());
    String suggested = name.getAttribute("value");
    name.clear();
    name.sendKeys(typed);
    browser.findElement(By.id("save-ok")).click();
    return suggested;
  }

  private static String tokenOf() {
    String url = dashboard.url();
    return url.substring(url.indexOf("token=") + 6);
  }
}
