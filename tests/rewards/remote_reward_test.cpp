// RemoteReward against real servers on loopback: a fault-injecting server
// (tests/data/reward_server/fault_server.py) and the reference generic server
// (scripts/reward_servers/generic_server.py). Every case checks that each sample ends up
// either correctly scored or masked with a reason, and that score() returns within a
// bound derived from its deadlines (a correctness property: no hang, no unbounded retry).
#include "flowgrpo/rewards/remote_reward.h"
#include "flowgrpo/rewards/http_client.h"
#include "flowgrpo/rewards/http_url.h"
#include "flowgrpo/rewards/ocr_score.h"
#include "flowgrpo/rewards/reward_registry.h"
#include "flowgrpo/rewards/score_range_reward.h"
#include "flowgrpo/rewards/weighted_reward.h"

#include "support/test_support.h"

#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <random>
#include <thread>

namespace fr = flowgrpo::rewards;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

bool python_with_pil() {
  static const bool ok = flowgrpo::testing::python_has("PIL");
  return ok;
}

// A server subprocess that prints "PORT <n>" on stdout once listening; killed on destruction.
class ServerProcess {
 public:
  explicit ServerProcess(std::vector<std::string> args) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      dup2(fds[1], STDOUT_FILENO);
      close(fds[0]);
      close(fds[1]);
      static const std::string interpreter = FLOWGRPO_TEST_PYTHON;  // unquoted, for execv
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(interpreter.c_str()));
      argv.push_back(const_cast<char*>("-B"));  // no __pycache__ in the source tree
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(interpreter.c_str(), argv.data());
      _exit(127);
    }
    close(fds[1]);
    out_ = fds[0];
    std::string text;
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (text.find('\n') == std::string::npos && Clock::now() < deadline) {
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char buf[256];
      const ssize_t n = read(out_, buf, sizeof(buf));
      if (n <= 0) break;
      text.append(buf, static_cast<size_t>(n));
    }
    if (text.rfind("PORT ", 0) != 0)
      throw std::runtime_error("server did not report its port: '" + text + "'");
    port_ = std::stoi(text.substr(5));
  }
  ~ServerProcess() {
    if (pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
  }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int port_ = 0;
};

std::string fault_server_script() {
  return flowgrpo::testing::data_path("reward_server/fault_server.py").string();
}

fr::RewardBatch make_batch(int64_t n, uint64_t seed = 3) {
  auto gen = at::detail::createCPUGenerator(seed);
  fr::RewardBatch b;
  b.images = torch::randint(0, 256, {n, 3, 8, 12}, gen, torch::kLong).to(torch::kByte);
  for (int64_t i = 0; i < n; ++i) {
    b.prompts.push_back("prompt number " + std::to_string(i));
    b.metadata.push_back(json{{"value", static_cast<double>(i) * 0.5}});
  }
  return b;
}

double mean_pixel(const fr::RewardBatch& b, int64_t i) {
  return b.images[i].to(torch::kDouble).mean().item<double>();
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Short deadlines: every fault case resolves in well under a second or two.
json fast_options(const std::string& url) {
  return json{{"url", url},           {"timeout_s", 1.0},          {"connect_timeout_s", 0.5},
              {"max_retries", 2},     {"backoff_initial_s", 0.02}, {"backoff_max_s", 1.0},
              {"circuit_failures", 0}};
}

class RemoteRewardTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (python_with_pil()) server_ = new ServerProcess({fault_server_script()});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    FLOWGRPO_REQUIRE_PYTHON("PIL");
    ASSERT_NE(server_, nullptr);
    control({});
  }
  static std::string url() { return server_->url(); }
  // Behaviours of the next /score requests (fault_server.py); resets its counters.
  void control(const std::vector<std::string>& queue, const std::string& fallback = "ok") {
    const auto r = client_.post_json(url() + "/control", json{{"queue", queue}, {"default", fallback}}.dump(
                                                             -1, ' ', false, json::error_handler_t::replace));
    ASSERT_TRUE(r.ok()) << r.describe();
  }
  json stats() {
    const auto r = client_.get(url() + "/stats");
    EXPECT_TRUE(r.ok()) << r.describe();
    return json::parse(r.body);
  }
  std::unique_ptr<fr::Reward> create(const std::string& name, const json& options) {
    return registry_.create(name, options);
  }

  static ServerProcess* server_;
  fr::HttpClient client_;
  fr::RewardRegistry registry_;
};
ServerProcess* RemoteRewardTest::server_ = nullptr;

void expect_all_invalid(const fr::RewardResult& r, const std::string& reason_part) {
  r.check("remote", r.size());
  for (int64_t i = 0; i < r.size(); ++i) {
    EXPECT_FALSE(r.valid[i].item<bool>()) << "sample " << i;
    EXPECT_TRUE(std::isnan(r.scores[i].item<double>())) << "sample " << i;
    EXPECT_TRUE(contains(r.errors[static_cast<size_t>(i)], reason_part))
        << "sample " << i << ": '" << r.errors[static_cast<size_t>(i)] << "' lacks '" << reason_part << "'";
  }
}

void expect_scored(const fr::RewardResult& r, const fr::RewardBatch& b) {
  r.check("remote", b.size());
  for (int64_t i = 0; i < b.size(); ++i) {
    EXPECT_TRUE(r.valid[i].item<bool>()) << "sample " << i << ": " << r.errors[static_cast<size_t>(i)];
    EXPECT_NEAR(r.scores[i].item<double>(), mean_pixel(b, i), 1e-9) << "sample " << i;
  }
}

}  // namespace

TEST(RemoteRewardUnits, Base64) {
  auto b64 = [](const std::string& s) {
    return fr::base64_encode(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  EXPECT_EQ(b64(""), "");
  EXPECT_EQ(b64("f"), "Zg==");
  EXPECT_EQ(b64("fo"), "Zm8=");
  EXPECT_EQ(b64("foo"), "Zm9v");
  EXPECT_EQ(b64("foob"), "Zm9vYg==");
  EXPECT_EQ(b64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(b64(std::string("\xff\xfe\x00", 3)), "//4A");
}

TEST(RemoteRewardUnits, OptionsAreValidated) {
  fr::RewardRegistry registry;
  auto message = [&](const std::string& name, const json& options) -> std::string {
    try {
      registry.create(name, options);
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "(no exception)";
  };
  const auto unknown = message("remote", {{"url", "http://127.0.0.1:1"}, {"timeout", 3}});
  EXPECT_TRUE(contains(unknown, "unknown option 'timeout'")) << unknown;
  EXPECT_TRUE(contains(unknown, "timeout_s, connect_timeout_s, max_retries")) << unknown;
  EXPECT_TRUE(contains(message("remote", json::object()), "'url' is required"));
  EXPECT_TRUE(contains(message("remote", {{"url", "ftp://x"}}), "http://"));
  EXPECT_TRUE(
      contains(message("remote", {{"url", "http://x"}, {"timeout_s", 0}}), "'timeout_s' must be > 0"));
  EXPECT_TRUE(contains(message("remote", {{"url", "http://x"}, {"max_batch", 2.5}}),
                       "'max_batch' must be an integer"));
  EXPECT_TRUE(
      contains(message("remote", {{"url", "http://x"}, {"max_batch", 0}}), "'max_batch' must be >= 1"));
  EXPECT_TRUE(
      contains(message("remote", {{"url", "http://x"}, {"image_format", "gif"}}), "valid: png, jpeg"));
  EXPECT_TRUE(contains(message("remote", {{"url", "http://x"}, {"health_check", "no"}}), "true or false"));
  EXPECT_TRUE(
      contains(message("remote", {{"url", "http://x"}, {"backoff_initial_s", 5}, {"backoff_max_s", 1}}),
               "backoff_max_s"));
  EXPECT_TRUE(contains(message("ocr", json::array()), "must be an object"));

  // Defaults of the named servers (no server needed with the health check off).
  auto geneval = registry.create("geneval", {{"health_check", false}});
  const auto& g = dynamic_cast<fr::RemoteReward&>(fr::unwrap_score_range(*geneval)).options();
  EXPECT_EQ(g.url, "http://127.0.0.1:18085");
  EXPECT_EQ(g.image_format, fr::RemoteImageFormat::kJpeg);
  EXPECT_EQ(g.max_batch, 64);
  EXPECT_EQ(geneval->name(), "geneval");
  auto ocr = registry.create("ocr", {{"health_check", false}, {"max_batch", 8}});
  EXPECT_EQ(dynamic_cast<fr::RemoteReward&>(fr::unwrap_score_range(*ocr)).options().url,
            "http://127.0.0.1:18087");
  EXPECT_EQ(dynamic_cast<fr::RemoteReward&>(fr::unwrap_score_range(*ocr)).options().max_batch, 8);
}

// Issue 14: bad URLs fail when the reward is built, in one line naming the reward and the
// option, with the health check off too (they used to mask every sample at run time).
TEST(RemoteRewardUnits, UrlsAreValidatedWhenTheRewardIsBuilt) {
  fr::RewardRegistry registry;
  auto message = [&](const std::string& url) -> std::string {
    try {
      registry.create("geneval", {{"url", url}, {"health_check", false}});
    } catch (const std::invalid_argument& e) {
      return e.what();
    }
    return "(no exception)";
  };
  const std::vector<std::pair<std::string, std::string>> bad{
      {"http://", "no host"},
      {"http://:8080", "no host"},
      {"http://127.0.0.1:99999", "port 99999 is outside 1-65535"},
      {"http://127.0.0.1:0", "port 0 is outside 1-65535"},
      {"http://127.0.0.1:", "port after ':' is empty"},
      {"http://127.0.0.1:80a", "port '80a' is not a number"},
      {"http://127.0.0.1:123456789012", "is not a number in 1-65535"},
      {"http://my host:80", "a space at position 9"},
      {"http://host:80/a path", "a space"},
      {" http://host", "a space at position 0"},
      {"http://host\\", "'\\'"},
      {std::string("http://ho\nst"), "byte 0x0A"},
      {"http://h\xc3\xa9", "byte 0xC3"},
      {"http://h\xff", "byte 0xFF"},
      {"ftp://host", "must be http:// or https://, found 'ftp://'"},
      {"127.0.0.1:18085", "expected http://HOST"},
      {"http://host/?x=1", "no query or fragment"},
      {"http://host#frag", "no query or fragment"},
      {"http://user@host", "user information"},
      {"http://[::1", "closing ']'"},
      {"http://[zz]:80", "not an IPv6 address"},
      {"http://ho<st", "'<'"},
  };
  for (const auto& [url, reason] : bad) {
    SCOPED_TRACE(url);
    const auto m = message(url);
    EXPECT_TRUE(contains(m, "remote reward 'geneval': option 'url' = ")) << m;
    EXPECT_TRUE(contains(m, reason)) << m;
    EXPECT_EQ(m.find('\n'), std::string::npos) << "one line: " << m;
  }
  for (const std::string good : {"http://127.0.0.1:18085", "https://rewards.example.org/v1/", "HTTP://Host:1",
                                 "http://[::1]:65535", "http://reward-server_2.local/path%20x"}) {
    SCOPED_TRACE(good);
    EXPECT_EQ(message(good), "(no exception)");
  }
  const auto parsed = fr::parse_http_url("http://[::1]:8080/api");
  EXPECT_EQ(parsed.host, "[::1]");
  EXPECT_EQ(parsed.port, 8080);
  EXPECT_EQ(parsed.path, "/api");
}

TEST(RemoteRewardUnits, ConnectionRefused) {
  const std::string url = "http://127.0.0.1:" + std::to_string(flowgrpo::testing::free_loopback_port());
  fr::RewardRegistry registry;
  // Health check on: construction fails fast, naming the URL.
  auto t0 = Clock::now();
  try {
    registry.create("remote", fast_options(url));
    FAIL() << "expected std::invalid_argument";
  } catch (const std::invalid_argument& e) {
    EXPECT_TRUE(contains(e.what(), url)) << e.what();
    EXPECT_TRUE(contains(e.what(), "health_check: false")) << e.what();
  }
  EXPECT_LT(seconds_since(t0), 2.0);
  // Health check off: every sample is masked with the reason, after the bounded retries.
  auto options = fast_options(url);
  options["health_check"] = false;
  auto reward = registry.create("remote", options);
  const auto batch = make_batch(3);
  t0 = Clock::now();
  const auto r = reward->score(batch);
  EXPECT_LT(seconds_since(t0), 2.0);
  expect_all_invalid(r, "connect failed");
  expect_all_invalid(r, url + "/score");
  expect_all_invalid(r, "gave up after 3 attempts");
}

// The same with nothing listening: the open circuit's reason says "connect failed".
TEST(RemoteRewardUnits, AnOpenCircuitKeepsTheConnectFailure) {
  const std::string url = "http://127.0.0.1:" + std::to_string(flowgrpo::testing::free_loopback_port());
  fr::RewardRegistry registry;
  auto options = fast_options(url);
  options["health_check"] = false;
  options["max_batch"] = 2;
  options["circuit_failures"] = 1;
  const auto r = registry.create("remote", options)->score(make_batch(4));
  r.check("remote", 4);
  EXPECT_TRUE(contains(r.errors[0], "connect failed")) << r.errors[0];
  EXPECT_TRUE(contains(r.errors[3], "circuit open")) << r.errors[3];
  EXPECT_TRUE(contains(r.errors[3], "(last failure: POST " + url + "/score: connect failed")) << r.errors[3];
}

TEST(RemoteRewardUnits, WaitForRecoveryIsBoundedPerOutage) {
  const std::string url = "http://127.0.0.1:" + std::to_string(flowgrpo::testing::free_loopback_port());
  fr::RewardRegistry registry;
  auto options = fast_options(url);
  options["health_check"] = false;
  options["wait_for_recovery_s"] = 0.6;
  auto reward = registry.create("remote", options);
  const auto batch = make_batch(2);
  auto t0 = Clock::now();
  const auto r = reward->score(batch);
  const double waited = seconds_since(t0);
  EXPECT_GE(waited, 0.6);
  EXPECT_LT(waited, 2.5);
  expect_all_invalid(r, "connect failed");
  // The outage's wait is spent: later calls mask at once (after their retries).
  t0 = Clock::now();
  expect_all_invalid(reward->score(batch), "connect failed");
  EXPECT_LT(seconds_since(t0), 0.5);
}

TEST_F(RemoteRewardTest, ScoresComponentsChunksAndConnectionReuse) {
  auto options = fast_options(url());
  options["max_batch"] = 2;
  auto reward = create("remote", options);
  auto batch = make_batch(5);
  batch.metadata[3] = json::object();  // no "value": that component is null -> NaN
  const auto t0 = Clock::now();
  const auto r = reward->score(batch);
  EXPECT_LT(seconds_since(t0), 5.0);
  expect_scored(r, batch);
  ASSERT_TRUE(r.components.count("prompt_length"));
  ASSERT_TRUE(r.components.count("meta_value"));
  for (int64_t i = 0; i < 5; ++i) {
    EXPECT_EQ(r.components.at("prompt_length")[i].item<double>(),
              batch.prompts[static_cast<size_t>(i)].size());
    if (i == 3)
      EXPECT_TRUE(std::isnan(r.components.at("meta_value")[i].item<double>()));
    else
      EXPECT_DOUBLE_EQ(r.components.at("meta_value")[i].item<double>(), 0.5 * static_cast<double>(i));
  }
  auto s = stats();
  EXPECT_EQ(s["score_requests"], 3);  // chunks of 2, 2, 1
  EXPECT_EQ(s["health_requests"], 1);
  EXPECT_EQ(s["connections"], 1) << "the health check and all chunks should share one keep-alive connection";
  EXPECT_EQ(s["last_request"]["mode"], "train");
  EXPECT_EQ(s["last_request"]["reward"], "remote");
  EXPECT_EQ(s["last_request"]["image_format"], "png");

  // Float images in [0,1] are sent as the same bytes; eval mode is forwarded.
  auto float_batch = batch;
  float_batch.images = batch.images.to(torch::kFloat) / 255.0;
  float_batch.mode = fr::ScoreMode::kEval;
  expect_scored(reward->score(float_batch), batch);
  EXPECT_EQ(stats()["last_request"]["mode"], "eval");

  // An empty batch makes no request.
  const auto empty = reward->score(make_batch(0));
  EXPECT_EQ(empty.size(), 0);
}

TEST_F(RemoteRewardTest, JpegImagesAreSentAsJpeg) {
  auto options = fast_options(url());
  options["image_format"] = "jpeg";
  auto reward = create("remote", options);
  auto batch = make_batch(2);
  batch.images = torch::full({2, 3, 16, 16}, 100, torch::kByte);  // flat: JPEG reproduces it closely
  const auto r = reward->score(batch);
  r.check("remote", 2);
  for (int64_t i = 0; i < 2; ++i) EXPECT_NEAR(r.scores[i].item<double>(), 100.0, 1.0);
  EXPECT_EQ(stats()["last_request"]["image_format"], "jpeg");
}

TEST_F(RemoteRewardTest, SlowReplyPastTheDeadline) {
  auto options = fast_options(url());
  options["timeout_s"] = 0.4;
  options["max_retries"] = 0;
  auto reward = create("remote", options);
  const auto batch = make_batch(2);
  control({"slow:3"});
  auto t0 = Clock::now();
  const auto r = reward->score(batch);
  EXPECT_LT(seconds_since(t0), 1.5);  // one 0.4 s deadline, not the 3 s the server takes
  expect_all_invalid(r, "timeout");

  // With a retry, the second (prompt) attempt succeeds.
  options["max_retries"] = 1;
  auto retrying = create("remote", options);
  control({"slow:3"});
  t0 = Clock::now();
  expect_scored(retrying->score(batch), batch);
  EXPECT_LT(seconds_since(t0), 1.5);
  EXPECT_EQ(stats()["score_requests"], 2);
}

TEST_F(RemoteRewardTest, ServerErrorsAreRetried) {
  auto reward = create("remote", fast_options(url()));
  const auto batch = make_batch(3);
  control({"status:500", "status:503"});
  auto t0 = Clock::now();
  expect_scored(reward->score(batch), batch);
  EXPECT_LT(seconds_since(t0), 2.0);
  EXPECT_EQ(stats()["score_requests"], 3);

  // More failures than retries: masked, naming the last status and the attempts.
  control({"status:502", "status:504", "status:500"});
  t0 = Clock::now();
  const auto r = reward->score(batch);
  EXPECT_LT(seconds_since(t0), 2.0);
  expect_all_invalid(r, "HTTP 500");
  expect_all_invalid(r, "gave up after 3 attempts");
  EXPECT_EQ(stats()["score_requests"], 3);
}

TEST_F(RemoteRewardTest, TooManyRequestsHonoursRetryAfter) {
  auto reward = create("remote", fast_options(url()));
  const auto batch = make_batch(2);
  control({"status:429:0.5"});
  auto t0 = Clock::now();
  expect_scored(reward->score(batch), batch);
  const double elapsed = seconds_since(t0);
  EXPECT_GE(elapsed, 0.5) << "the retry came before Retry-After";
  EXPECT_LT(elapsed, 2.0);
  EXPECT_EQ(stats()["score_requests"], 2);

  // A Retry-After longer than backoff_max_s (1 s) is not waited for: masked at once.
  control({"status:429:100"});
  t0 = Clock::now();
  const auto r = reward->score(batch);
  EXPECT_LT(seconds_since(t0), 1.0);
  expect_all_invalid(r, "HTTP 429");
  expect_all_invalid(r, "more than backoff_max_s");
  EXPECT_EQ(stats()["score_requests"], 1);
}

TEST_F(RemoteRewardTest, ClientErrorsAreNotRetried) {
  auto reward = create("remote", fast_options(url()));
  control({"status:400", "status:404"});
  const auto r = reward->score(make_batch(2));
  expect_all_invalid(r, "HTTP 400");
  EXPECT_EQ(stats()["score_requests"], 1);
}

TEST_F(RemoteRewardTest, MalformedRepliesMaskTheChunkWithoutRetry) {
  auto reward = create("remote", fast_options(url()));
  const auto batch = make_batch(3);
  const std::vector<std::pair<std::string, std::string>> cases{
      {"malformed", "not JSON"},
      {"nan", "not JSON"},
      {"short", "'scores' has 2 entries for 3 images"},
      {"wrong_id", "does not match request id"},
      {"wrong_type", "scores[0] is a string, expected a number or null"},
      {"no_scores", "reply has no 'scores'"},
  };
  for (const auto& [behaviour, reason] : cases) {
    SCOPED_TRACE(behaviour);
    control({behaviour});
    const auto t0 = Clock::now();
    const auto r = reward->score(batch);
    EXPECT_LT(seconds_since(t0), 1.5);
    expect_all_invalid(r, "malformed reply from " + url() + "/score");
    expect_all_invalid(r, reason);
    EXPECT_EQ(stats()["score_requests"], 1);
  }
  // Only the malformed chunk is masked; the next chunk of the same batch is scored.
  auto options = fast_options(url());
  options["max_batch"] = 2;
  auto chunked = create("remote", options);
  control({"wrong_id"});
  const auto r = chunked->score(batch);
  r.check("remote", 3);
  EXPECT_FALSE(r.valid[0].item<bool>());
  EXPECT_FALSE(r.valid[1].item<bool>());
  EXPECT_TRUE(r.valid[2].item<bool>());
  EXPECT_NEAR(r.scores[2].item<double>(), mean_pixel(batch, 2), 1e-9);
  EXPECT_TRUE(std::isnan(r.components.at("prompt_length")[0].item<double>()));
  EXPECT_EQ(r.components.at("prompt_length")[2].item<double>(), batch.prompts[2].size());
}

// Issue 14: whatever a 2xx reply holds, score() returns and masks the chunk with a reason
// naming the URL; nothing of the reply escapes as an exception (1e999 used to crash the run
// with nlohmann's out_of_range 406).
TEST_F(RemoteRewardTest, AnyBrokenReplyMasksItsChunkAndNeverThrows) {
  auto reward = create("remote", fast_options(url()));
  const auto batch = make_batch(3);
  std::string deep(5000, '[');
  deep += std::string(5000, ']');
  const std::vector<std::pair<std::string, std::string>> cases{
      {R"({"id": "$ID", "scores": [1e999, 1, 2]})", "number overflow"},
      {R"({"id": "$ID", "scores": [-1e999, 1, 2]})", "number overflow"},
      {R"({"id": "$ID", "scores": [1, 2, 3], "components": {"c": [1, 1e400, 3]}})", "number overflow"},
      {R"({"id": "$ID", "scores": [{"a": 1}, 2, 3]})", "scores[0] is a object"},
      {R"({"id": "$ID", "scores": [[1], 2, 3]})", "scores[0] is a array"},
      {R"({"id": "$ID", "scores": [true, 2, 3]})", "scores[0] is a boolean"},
      {R"({"id": "$ID", "scores": {"0": 1}})", "'scores' is a object"},
      {R"({"id": "$ID", "scores": "1,2,3"})", "'scores' is a string"},
      {R"({"id": 7, "scores": [1, 2, 3]})", "no string 'id'"},
      {R"({"id": "$ID", "scores": [1, 2, 3], "errors": [1, null, null]})", "errors[0] is a number"},
      {R"({"id": "$ID", "scores": [1, 2, 3], "components": [1, 2, 3]})", "'components' is a array"},
      {R"({"id": "$ID", "scores": [1, 2, 3], "components": {"c": "x"}})", "'components.c' is a string"},
      {R"({"id": "$ID", "scores": [1, 2, 3], "components": {"": [1, 2, 3]}})", "empty name"},
      {R"({"id": "$ID", "scores": [1, 2, 3], "texts": 5})", "'texts' is a number"},
      {R"({"id": "$ID", "scores": [1, 2, 3], "errors": ["$XFF", null, null]})", "not JSON"},
      {R"({"id": "$ID", "scores": [1, 2, 3]} trailing)", "not JSON"},
      {R"([1, 2, 3])", "reply is a JSON array"},
      {R"("scores")", "reply is a JSON string"},
      {"null", "reply is a JSON null"},
      {"", "not JSON"},
      {deep, "reply is a JSON array"},
  };
  for (const auto& [body, reason] : cases) {
    SCOPED_TRACE(body.substr(0, 80));
    control({"raw:" + body});
    const auto t0 = Clock::now();
    fr::RewardResult r;
    ASSERT_NO_THROW(r = reward->score(batch));
    EXPECT_LT(seconds_since(t0), 1.5);
    expect_all_invalid(r, "malformed reply from " + url() + "/score");
    expect_all_invalid(r, reason);
    EXPECT_EQ(stats()["score_requests"], 1) << "a malformed reply is not retried";
  }
  // The same through flowgrpo's combined reward: the reason then names the reward too.
  fr::RewardRegistry registry;
  auto weighted =
      fr::WeightedReward::from_weights({{"remote", 1.0}}, registry, {{"remote", fast_options(url())}});
  control({R"(raw:{"id": "$ID", "scores": [1e999, 1, 2]})"});
  fr::RewardResult r;
  ASSERT_NO_THROW(r = weighted->score(batch));
  expect_all_invalid(r, "remote: malformed reply from " + url() + "/score");
}

// Issue 14: libcurl used to resend a request silently when the server had dropped the
// reused keep-alive connection, so the server saw 4 requests where the log said "gave up
// after 3 attempts". Every request that reaches the server is an attempt now.
TEST_F(RemoteRewardTest, AttemptsAreBoundedEvenOnDroppedKeepAliveConnections) {
  auto requests_per_id = [&] {
    const auto per_id = stats()["requests_per_id"];
    std::vector<int> counts;
    for (const auto& [id, n] : per_id.items()) counts.push_back(n.get<int>());
    return counts;
  };
  // Every request is dropped unanswered; the first goes on the health check's connection.
  auto reward = create("remote", fast_options(url()));  // max_retries 2
  control({}, "close");
  auto r = reward->score(make_batch(2));
  expect_all_invalid(r, "connection lost");
  expect_all_invalid(r, "gave up after 3 attempts");
  EXPECT_EQ(requests_per_id(), std::vector<int>{3});

  // A request on a reused connection the server drops: with max_retries 0, one request,
  // masked (it used to be resent and scored behind the bound's back).
  auto options = fast_options(url());
  options["max_retries"] = 0;
  auto once = create("remote", options);
  control({}, "close_reused");
  r = once->score(make_batch(2));
  expect_all_invalid(r, "keep-alive");
  EXPECT_EQ(requests_per_id(), std::vector<int>{1});
  // With a retry, the second attempt (a fresh connection) is scored: two requests.
  options["max_retries"] = 1;
  auto retrying = create("remote", options);
  control({}, "close_reused");
  const auto batch = make_batch(2);
  expect_scored(retrying->score(batch), batch);
  EXPECT_EQ(requests_per_id(), std::vector<int>{2});
}

// wait_for_recovery_s: a transient failure that outlasts the retries is waited out
// (polling /health), then the chunk is sent again instead of being masked.
TEST_F(RemoteRewardTest, WaitForRecoveryResendsOnceTheServerAnswers) {
  auto options = fast_options(url());  // max_retries 2
  options["wait_for_recovery_s"] = 5.0;
  auto reward = create("remote", options);
  const auto batch = make_batch(2);
  control({"status:503", "status:503", "status:503"});
  const auto t0 = Clock::now();
  expect_scored(reward->score(batch), batch);
  EXPECT_LT(seconds_since(t0), 3.0);
  EXPECT_EQ(stats()["score_requests"], 4);  // 3 attempts, then one more after /health answered
  // A non-transient failure is not waited for.
  control({"status:400"});
  expect_all_invalid(reward->score(batch), "HTTP 400");
  EXPECT_EQ(stats()["score_requests"], 1);
}

// A bounded randomized-mutation test of the reply parser (issue 14): valid replies with
// random edits — absurd numbers, other types, broken structure, invalid UTF-8 — must each
// yield a result that keeps the contract (RewardResult::check), never an exception.
TEST_F(RemoteRewardTest, MutatedRepliesKeepTheContract) {
  auto reward = create("remote", fast_options(url()));
  const auto batch = make_batch(3);
  const std::string base = R"({"id": "$ID", "scores": [1.5, 2, null], "components": {"c": [0.25, null, 3]}, )"
                           R"("errors": [null, null, "no object"]})";
  const std::vector<std::string> tokens = {
      "1e999",      "-1e999", "1e308", "-1e308", "1e-400",      "null",
      "true",       "\"x\"",  "[]",    "{}",     "[[",          "]",
      "}",          ",",      ":",     "$XFF",   "\"\\ud800\"", "18446744073709551616",
      "\"scores\"", "\"id\""};
  std::mt19937_64 rng(14);
  auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
  int valid_samples = 0;
  for (int iteration = 0; iteration < 150; ++iteration) {
    std::string body = base;
    const int edits = 1 + static_cast<int>(pick(3));
    for (int e = 0; e < edits; ++e) {
      const size_t at = pick(body.size());
      switch (pick(4)) {
        case 0: body[at] = static_cast<char>(0x20 + pick(0x5f)); break;  // printable ASCII
        case 1: body.erase(at, 1 + pick(6)); break;
        case 2: body.insert(at, tokens[pick(tokens.size())]); break;
        default: {
          const size_t digit = body.find_first_of("0123456789", at);
          if (digit != std::string::npos) body.replace(digit, 1, tokens[pick(6)]);
        }
      }
    }
    SCOPED_TRACE("iteration " + std::to_string(iteration) + ": " + body);
    control({"raw:" + body});
    const auto t0 = Clock::now();
    fr::RewardResult r;
    ASSERT_NO_THROW(r = reward->score(batch));
    EXPECT_LT(seconds_since(t0), 1.5);
    ASSERT_NO_THROW(r.check("remote", 3));
    for (int64_t i = 0; i < 3; ++i) {
      if (r.valid[i].item<bool>())
        ++valid_samples;
      else
        EXPECT_FALSE(r.errors[static_cast<size_t>(i)].empty());
    }
  }
  std::printf("  %d of %d samples still valid after mutation\n", valid_samples, 150 * 3);
}

TEST_F(RemoteRewardTest, PerSampleErrorsMaskOnlyThoseSamples) {
  auto reward = create("remote", fast_options(url()));
  auto batch = make_batch(4);
  batch.metadata[1]["error"] = "no object detected";
  const auto r = reward->score(batch);
  r.check("remote", 4);
  for (int64_t i = 0; i < 4; ++i) {
    if (i == 1) {
      EXPECT_FALSE(r.valid[i].item<bool>());
      EXPECT_TRUE(contains(r.errors[1], "no object detected")) << r.errors[1];
      EXPECT_TRUE(contains(r.errors[1], url())) << r.errors[1];
      EXPECT_TRUE(std::isnan(r.components.at("meta_value")[1].item<double>()));
    } else {
      EXPECT_TRUE(r.valid[i].item<bool>());
      EXPECT_NEAR(r.scores[i].item<double>(), mean_pixel(batch, i), 1e-9);
    }
  }
}

TEST_F(RemoteRewardTest, CircuitBreakerOpensAndRecovers) {
  auto options = fast_options(url());
  options["max_batch"] = 1;
  options["max_retries"] = 1;
  options["circuit_failures"] = 2;
  options["circuit_cooldown_s"] = 0.5;
  auto reward = create("remote", options);
  auto& remote = dynamic_cast<fr::RemoteReward&>(*reward);
  const auto batch = make_batch(4);

  control({}, "status:503");
  auto t0 = Clock::now();
  auto r = reward->score(batch);
  EXPECT_LT(seconds_since(t0), 1.5);
  r.check("remote", 4);
  EXPECT_TRUE(contains(r.errors[0], "HTTP 503"));
  EXPECT_TRUE(contains(r.errors[1], "HTTP 503"));
  EXPECT_TRUE(contains(r.errors[2], "circuit open")) << r.errors[2];
  EXPECT_TRUE(contains(r.errors[3], "circuit open")) << r.errors[3];
  EXPECT_EQ(stats()["score_requests"], 4);  // 2 chunks x (1 + 1 retry), then no more calls
  EXPECT_TRUE(remote.circuit_open());

  // The server is back, but the circuit is still open: rejected without a call.
  control({}, "ok");
  t0 = Clock::now();
  expect_all_invalid(reward->score(batch), "circuit open");
  EXPECT_LT(seconds_since(t0), 0.2);
  EXPECT_EQ(stats()["score_requests"], 0);

  // After the cool-down a probe goes through, closes the circuit, and everything is scored.
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  expect_scored(reward->score(batch), batch);
  EXPECT_FALSE(remote.circuit_open());
  EXPECT_EQ(stats()["score_requests"], 4);

  // Open it again; a failed probe (one attempt, no retries) re-opens it at once.
  control({}, "status:500");
  reward->score(make_batch(2));
  EXPECT_TRUE(remote.circuit_open());
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  control({}, "status:500");
  r = reward->score(batch);
  EXPECT_TRUE(contains(r.errors[0], "HTTP 500"));
  EXPECT_TRUE(contains(r.errors[0], "gave up after 1 attempt)")) << r.errors[0];
  EXPECT_TRUE(contains(r.errors[1], "circuit open"));
  EXPECT_EQ(stats()["score_requests"], 1);
  EXPECT_TRUE(remote.circuit_open());
}

// Issue 14: with the circuit open, the reason every later sample carries (and the trainer's
// stop message quotes) was only "circuit open: ..."; it keeps the failure that opened it.
TEST_F(RemoteRewardTest, AnOpenCircuitKeepsTheFailureThatOpenedIt) {
  auto options = fast_options(url());
  options["max_batch"] = 1;
  options["max_retries"] = 1;
  options["circuit_failures"] = 1;
  options["circuit_cooldown_s"] = 60;
  fr::RewardRegistry registry;
  auto reward = fr::WeightedReward::from_weights({{"remote", 1.0}}, registry, {{"remote", options}});
  control({}, "status:503");
  const auto t0 = Clock::now();
  const auto r = reward->score(make_batch(3));
  EXPECT_LT(seconds_since(t0), 1.5);
  r.check("weighted", 3);
  const std::string failure = "POST " + url() + "/score: HTTP 503";
  EXPECT_TRUE(contains(r.errors[0], "remote: " + failure)) << r.errors[0];
  for (size_t i = 1; i < 3; ++i) {
    EXPECT_TRUE(contains(r.errors[i], "remote: circuit open: reward server " + url())) << r.errors[i];
    EXPECT_TRUE(contains(r.errors[i], "(last failure: " + failure)) << r.errors[i];
    EXPECT_TRUE(contains(r.errors[i], "(gave up after 2 attempts))")) << r.errors[i];
  }
  EXPECT_EQ(stats()["score_requests"], 2);  // one chunk's two attempts, then the circuit is open
}

// Issue 14: a finite but absurd score (1e308) from a server is masked by the reward's
// valid range, GenEval's default [-15, 1] or a remote reward's max_score, with a reason
// naming the reward, the value and the range; the other samples keep their scores.
TEST_F(RemoteRewardTest, AbsurdScoresAreMaskedByTheValidRange) {
  const auto batch = make_batch(3);
  auto geneval = create("geneval", fast_options(url()));
  control(
      {R"(raw:{"id": "$ID", "scores": [1e308, 0.5, -1e308], "components": {"strict_accuracy": [1, 0, 0]}})"});
  auto r = geneval->score(batch);
  r.check("geneval", 3);
  for (int64_t i : {0, 2}) {
    EXPECT_FALSE(r.valid[i].item<bool>()) << "sample " << i;
    const auto& e = r.errors[static_cast<size_t>(i)];
    EXPECT_TRUE(contains(e, "reward 'geneval' returned the score " + std::string(i == 0 ? "1" : "-1"))) << e;
    EXPECT_TRUE(contains(e, "e+308, outside its valid range [-15, 1] (options min_score / max_score)")) << e;
    EXPECT_TRUE(std::isnan(r.components.at("strict_accuracy")[i].item<double>()));
  }
  EXPECT_TRUE(r.valid[1].item<bool>()) << r.errors[1];
  EXPECT_EQ(r.scores[1].item<double>(), 0.5);

  // `remote` knows no range: 1e308 passes unless max_score says otherwise.
  const std::string reply = R"(raw:{"id": "$ID", "scores": [1e308, 2, 3]})";
  control({reply});
  EXPECT_TRUE(create("remote", fast_options(url()))->score(batch).valid.all().item<bool>());
  auto options = fast_options(url());
  options["max_score"] = 10;
  control({reply});
  r = create("remote", options)->score(batch);
  r.check("remote", 3);
  EXPECT_FALSE(r.valid[0].item<bool>());
  EXPECT_TRUE(contains(r.errors[0], "e+308, outside its valid range [-inf, 10]")) << r.errors[0];
  EXPECT_EQ(r.scores[2].item<double>(), 3.0);
}

TEST_F(RemoteRewardTest, GenevalNeedsItsComponents) {
  // The fault server returns no strict_accuracy: a GenEval reply without it is malformed.
  auto options = fast_options(url());
  auto reward = create("geneval", options);
  const auto r = reward->score(make_batch(2));
  expect_all_invalid(r, "reply has no component 'strict_accuracy'");
  EXPECT_EQ(stats()["last_request"]["reward"], "geneval");
  EXPECT_EQ(stats()["last_request"]["image_format"], "jpeg");
}

TEST_F(RemoteRewardTest, OcrScoresTheRecognisedText) {
  auto reward = create("ocr", fast_options(url()));
  auto batch = make_batch(5);
  const std::vector<std::pair<std::string, std::string>> samples{
      {"a sign saying \"Open Late\"", "OPEN LATE"},      // exact after normalisation
      {"a sign saying \"hello world\"", "hellp world"},  // one substitution: 0.9
      {"a cup with \"café\"", "cafe"},                   // code points: 0.75
      {"a blank sign \"\"", "anything"},                 // empty target: masked
      {"a sign saying \"abc\"", ""},                     // text null below: masked
  };
  for (size_t i = 0; i < samples.size(); ++i) {
    batch.prompts[i] = samples[i].first;
    batch.metadata[i] = json{{"text", samples[i].second}};
  }
  batch.metadata[4] = json::object();
  const auto r = reward->score(batch);
  r.check("ocr", 5);
  EXPECT_DOUBLE_EQ(r.scores[0].item<double>(), 1.0);
  EXPECT_DOUBLE_EQ(r.scores[1].item<double>(), 0.9);
  EXPECT_DOUBLE_EQ(r.scores[2].item<double>(), 0.75);
  EXPECT_FALSE(r.valid[3].item<bool>());
  EXPECT_TRUE(contains(r.errors[3], "OCR target text is empty")) << r.errors[3];
  EXPECT_FALSE(r.valid[4].item<bool>());
  EXPECT_TRUE(contains(r.errors[4], "returned no text")) << r.errors[4];
  EXPECT_EQ(stats()["last_request"]["reward"], "ocr");
}

TEST(RemoteRewardServers, ServerDiesMidRun) {
  FLOWGRPO_REQUIRE_PYTHON("PIL");
  auto server = std::make_unique<ServerProcess>(std::vector<std::string>{fault_server_script()});
  fr::HttpClient client;
  ASSERT_TRUE(client.post_json(server->url() + "/control", R"({"queue": ["ok", "die"]})").ok());
  fr::RewardRegistry registry;
  auto options = fast_options(server->url());
  options["max_batch"] = 2;
  auto reward = registry.create("remote", options);
  const auto batch = make_batch(6);
  auto t0 = Clock::now();
  const auto r = reward->score(batch);
  EXPECT_LT(seconds_since(t0), 3.0);
  r.check("remote", 6);
  for (int64_t i = 0; i < 2; ++i) {
    EXPECT_TRUE(r.valid[i].item<bool>()) << r.errors[static_cast<size_t>(i)];
    EXPECT_NEAR(r.scores[i].item<double>(), mean_pixel(batch, i), 1e-9);
  }
  for (int64_t i = 2; i < 6; ++i) {
    EXPECT_FALSE(r.valid[i].item<bool>());
    EXPECT_TRUE(contains(r.errors[static_cast<size_t>(i)], server->url()))
        << r.errors[static_cast<size_t>(i)];
  }
  // Later batches: masked quickly, no hang.
  t0 = Clock::now();
  const auto later = reward->score(batch);
  EXPECT_LT(seconds_since(t0), 3.0);
  expect_all_invalid(later, "connect failed");
}

TEST(RemoteRewardServers, GenericServerWithTheCppClient) {
  FLOWGRPO_REQUIRE_PYTHON("PIL");
  const auto script =
      (std::filesystem::path(FLOWGRPO_SOURCE_DIR) / "scripts/reward_servers/generic_server.py").string();
  ServerProcess server(
      {script, flowgrpo::testing::data_path("reward_server/toy_scorer.py").string() + ":score"});
  fr::RewardRegistry registry;
  auto options = fast_options(server.url());
  options["timeout_s"] = 5.0;
  options["max_batch"] = 3;
  auto reward = registry.create("remote", options);
  auto batch = make_batch(4);
  batch.prompts[2] = "fail";
  const auto r = reward->score(batch);
  r.check("remote", 4);
  for (int64_t i = 0; i < 4; ++i) {
    if (i == 2) {
      EXPECT_FALSE(r.valid[i].item<bool>());
      EXPECT_TRUE(contains(r.errors[2], "toy scorer refuses prompt 'fail'")) << r.errors[2];
      EXPECT_TRUE(std::isnan(r.components.at("green")[2].item<double>()));
      continue;
    }
    const auto image = batch.images[i].to(torch::kDouble);
    EXPECT_TRUE(r.valid[i].item<bool>()) << r.errors[static_cast<size_t>(i)];
    EXPECT_NEAR(r.scores[i].item<double>(), image[0].mean().item<double>() / 255.0, 1e-12);
    EXPECT_NEAR(r.components.at("green")[i].item<double>(), image[1].mean().item<double>() / 255.0, 1e-12);
    EXPECT_EQ(r.components.at("prompt_length")[i].item<double>(),
              batch.prompts[static_cast<size_t>(i)].size());
  }
  EXPECT_FALSE(r.components.count("eval_only"));
  batch.mode = fr::ScoreMode::kEval;  // the scorer's `mode` parameter receives it
  const auto e = reward->score(batch);
  ASSERT_TRUE(e.components.count("eval_only"));
  EXPECT_EQ(e.components.at("eval_only")[0].item<double>(), 1.0);

  // The GenEval contract through the generic server: strict_accuracy always, accuracy in eval.
  ServerProcess geneval(
      {script, flowgrpo::testing::data_path("reward_server/toy_scorer.py").string() + ":geneval"});
  auto g = registry.create("geneval", fast_options(geneval.url()));
  auto train = g->score(make_batch(2));
  train.check("geneval", 2);
  EXPECT_TRUE(train.valid.all().item<bool>());
  EXPECT_EQ(train.components.at("strict_accuracy")[0].item<double>(), 1.0);
  EXPECT_TRUE(std::isnan(train.components.at("accuracy")[0].item<double>()));
  auto eval_batch = make_batch(2);
  eval_batch.mode = fr::ScoreMode::kEval;
  const auto eval = g->score(eval_batch);
  EXPECT_TRUE(eval.valid.all().item<bool>());
  EXPECT_EQ(eval.components.at("accuracy")[1].item<double>(), 0.0);
}
