#pragma once

#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

/// Counters and gauges exposed in Prometheus' text format (version 0.0.4). Safe to use
/// from any thread: actors and I/O threads update it, the /metrics handler renders it.
namespace net {

class metrics {
public:
  using labels = std::vector<std::pair<std::string, std::string>>;

  /// Declares a metric family: `type` is "counter" or "gauge". Families that are
  /// declared render their HELP and TYPE lines even before the first sample.
  void describe(const std::string& name, const std::string& type,
                const std::string& help);

  /// Adds `delta` to the sample (a counter, or a gauge that counts up and down).
  void add(const std::string& name, const labels& l, double delta = 1);

  /// Sets the sample to `value` (gauges).
  void set(const std::string& name, const labels& l, double value);

  /// The sample's current value (0 if it was never touched); for tests and status.
  double value(const std::string& name, const labels& l) const;

  /// Every family in name order, samples in label order.
  std::string render() const;

private:
  struct family {
    std::string type = "untyped";
    std::string help;
    std::map<std::string, double> samples; ///< rendered label set -> value
  };
  static std::string label_text(const labels& l);

  mutable std::mutex mutex_;
  std::map<std::string, family> families_;
};

/// A request's method as a label value: one of the methods HTTP defines, else "other".
/// Label values must come from fixed sets: every value is a series kept forever, and the
/// method is whatever a client sends, before any authentication.
std::string method_label(const std::string& method);

} // namespace net
