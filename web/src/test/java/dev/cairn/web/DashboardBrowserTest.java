package dev.cairn.web;

import static org.assertj.core.api.Assertions.assertThat;

import dev.cairn.run.Cairn;
import dev.cairn.run.Run;
import dev.cairn.run.RunOptions;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
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
 * the chart grow, compare two runs. Screenshots of each page go to target/screenshots.
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
                .config(Map.of("steps", 400, "lr", 0.1, "model", Map.of("size", 64)))
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
    wait = new WebDriverWait(browser, Duration.ofSeconds(60), Duration.ofMillis(100));
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
    assertThat(browser.findElement(By.cssSelector("#runs-table tr[data-run='baseline']")).getText())
        .contains("finished");
    screenshot("1-runs");

    browser.findElement(By.cssSelector("tr[data-run='live'] a.run-link")).click();
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
    assertThat(browser.findElement(By.id("system-latest")).getText())
        .contains("heap")
        .contains("disk free");
    assertThat(
            browser
                .findElement(By.cssSelector(".chart-card[data-chart='system-gpu']"))
                .isDisplayed())
        .as("no nvidia-smi here: no GPU chart")
        .isFalse();
    screenshot("2-run");

    assertThat(saveFromPage("from-browser")).startsWith("manual-step-");
    WebElement toast =
        wait.until(
            d ->
                d.findElements(By.cssSelector("#toasts .toast-ok")).stream()
                    .filter(t -> t.getText().contains("Saved step"))
                    .findFirst()
                    .orElse(null));
    assertThat(toast.getText()).contains("from-browser").contains("/checkpoints/step-");
    By row = By.xpath("//table[@id='checkpoints-table']//tr[td[normalize-space()='from-browser']]");
    // The table is redrawn at every checkpoint (one every ~0.6 s here): read the row in one go,
    // again if it was replaced meanwhile.
    String[] saved =
        wait.until(
            d -> {
              WebElement e = d.findElements(row).stream().findFirst().orElse(null);
              return e == null ? null : new String[] {e.getText(), e.getAttribute("data-step")};
            });
    assertThat(saved[0]).contains("pinned");
    String step = saved[1];
    assertThat(toast.getText()).contains("step-" + step);
    assertThat(runs.resolve("live/checkpoints/step-" + step + "/manifest.json")).exists();
    screenshot("3-saved");

    // The chart follows the job: new points arrive over the event stream.
    wait.until(d -> attr(loss, "data-last-step") > firstStep + 100);
    assertThat(browser.findElements(By.cssSelector("#toasts .toast-error"))).isEmpty();
    screenshot("4-grown");

    // A refused save is an error toast that says why (the name is taken).
    saveFromPage("from-browser");
    WebElement refused =
        wait.until(
            d ->
                d.findElements(By.cssSelector("#toasts .toast-error")).stream()
                    .findFirst()
                    .orElse(null));
    assertThat(refused.getText())
        .contains("Save refused")
        .contains("already has a checkpoint named 'from-browser'");

    browser.get(dashboard.url().replace("/?token=" + tokenOf(), "/#/"));
    wait.until(d -> d.findElements(By.cssSelector("#runs-table input.pick")).size() == 2);
    for (WebElement box : browser.findElements(By.cssSelector("#runs-table input.pick"))) {
      box.click();
    }
    WebElement compare = browser.findElement(By.id("compare-btn"));
    wait.until(d -> compare.isEnabled());
    compare.click();
    By overlay = By.cssSelector(".chart-card[data-chart='compare']");
    wait.until(d -> attr(overlay, "data-points") > 10);
    WebElement diff = browser.findElement(By.id("config-diff"));
    wait.until(d -> diff.getText().contains("lr"));
    assertThat(diff.getText()).contains("0.1").contains("0.05");
    List<WebElement> legend = browser.findElements(By.cssSelector(".u-legend .u-series"));
    assertThat(legend.size()).isGreaterThanOrEqualTo(3); // step + two runs
    screenshot("5-compare");

    // Stop: confirm, the job saves at its next step and ends its session as stopped.
    browser.get(dashboard.url().replace("/?token=" + tokenOf(), "/#/run/live"));
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
    assertThat(job.waitFor(60, TimeUnit.SECONDS)).as("the job ended by itself").isTrue();
    assertThat(job.exitValue()).isZero();
    assertThat(Files.readString(runs.resolve("live.out"))).contains("STOPPED " + stoppedAt);
    assertThat(runs.resolve("live/checkpoints/step-" + stoppedAt + "/manifest.json")).exists();
    assertThat(stop.isEnabled()).isFalse();
    assertThat(browser.findElement(By.cssSelector(".run-head")).getText())
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
