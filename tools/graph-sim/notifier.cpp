#include "notifier.hpp"

#include "net/url.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>

namespace graph_sim {

struct notifier::delivery {
  std::string url;
  std::string body;
  std::chrono::steady_clock::time_point first_try;
  std::chrono::milliseconds next_wait{0};
};

notifier::notifier(options o)
    : options_{std::move(o)}, work_{boost::asio::make_work_guard(io_)}, thread_{[this] {
        io_.run();
      }} {
  net::client_options co;
  co.ca_file = options_.ca_file;
  co.max_connections_per_host = 8;
  client_ = std::make_unique<net::http_client>(co);
}

notifier::~notifier() {
  stop();
}

void notifier::stop() {
  client_.reset(); // its threads end; exchanges under way are abandoned
  work_.reset();
  io_.stop();
  if (thread_.joinable()) thread_.join();
}

void notifier::after(std::chrono::milliseconds wait, std::function<void()> then) {
  auto timer = std::make_shared<boost::asio::steady_timer>(io_, wait);
  timer->async_wait([timer, then = std::move(then)](const boost::system::error_code& ec) {
    if (!ec) then();
  });
}

void notifier::deliver(const std::string& url, std::string body) {
  std::chrono::milliseconds delay;
  {
    std::lock_guard<std::mutex> lock{mutex_};
    if (drop_ || pending_ >= options_.max_pending) {
      ++dropped_;
      return;
    }
    ++pending_;
    delay = delay_;
  }
  auto d = std::make_shared<delivery>();
  d->url = url;
  d->body = std::move(body);
  d->first_try = std::chrono::steady_clock::now();
  d->next_wait = options_.first_retry;
  if (delay.count() > 0) return after(delay, [this, d] { attempt(d); });
  boost::asio::post(io_, [this, d] { attempt(d); });
}

void notifier::attempt(std::shared_ptr<delivery> d) {
  if (!client_) return;
  {
    std::lock_guard<std::mutex> lock{mutex_};
    ++attempts_;
  }
  net::client_request req;
  req.method = "POST";
  req.url = d->url;
  req.headers = {{"Content-Type", "application/json"}};
  req.body = d->body;
  req.timeout = options_.answer_within;
  client_->async_request(std::move(req), [this, d](net::client_response res) {
    if (res.ok() && res.status >= 200 && res.status < 300) {
      std::lock_guard<std::mutex> lock{mutex_};
      ++delivered_;
      --pending_;
      return;
    }
    retry(d);
  });
}

void notifier::retry(std::shared_ptr<delivery> d) {
  std::lock_guard<std::mutex> lock{mutex_};
  ++failed_attempts_;
  if (std::chrono::steady_clock::now() - d->first_try >= options_.give_up_after) {
    ++gave_up_;
    --pending_;
    return;
  }
  auto wait = d->next_wait;
  d->next_wait = std::min(d->next_wait * 2, options_.max_retry);
  after(wait, [this, d] { attempt(d); });
}

void notifier::validate(const std::string& url, const std::string& token,
                        std::function<void(bool, std::string)> done) {
  {
    std::lock_guard<std::mutex> lock{mutex_};
    ++validations_;
  }
  net::client_request req;
  req.method = "POST";
  req.url = url + (url.find('?') == std::string::npos ? "?" : "&") +
            net::encode_query({{"validationToken", token}});
  req.headers = {{"Content-Type", "text/plain; charset=utf-8"}};
  req.timeout = options_.validate_within;
  client_->async_request(std::move(req), [token, done](net::client_response res) {
    if (!res.ok())
      return done(false, std::string{"no answer: "} + net::to_string(res.error) + " " +
                             res.error_message);
    if (res.status != 200)
      return done(false, "answered " + std::to_string(res.status) + ", not 200");
    if (res.header("Content-Type").rfind("text/plain", 0) != 0)
      return done(false, "answered a Content-Type other than text/plain");
    if (res.body != token)
      return done(false, "answered a body other than the validation token");
    done(true, {});
  });
}

void notifier::set_switches(bool drop, std::chrono::milliseconds delay) {
  std::lock_guard<std::mutex> lock{mutex_};
  drop_ = drop;
  delay_ = delay;
}

nlohmann::json notifier::switches() const {
  std::lock_guard<std::mutex> lock{mutex_};
  return {{"drop", drop_}, {"delay_ms", delay_.count()}};
}

nlohmann::json notifier::stats() const {
  std::lock_guard<std::mutex> lock{mutex_};
  return {{"delivered", delivered_},
          {"attempts", attempts_},
          {"failed_attempts", failed_attempts_},
          {"dropped", dropped_},
          {"gave_up", gave_up_},
          {"pending", pending_},
          {"validations", validations_}};
}

} // namespace graph_sim
