// The test runner for app/'s suites (CAF's test framework defines main here).
#include <caf/test/unit_test_impl.hpp>
