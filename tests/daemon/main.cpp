// The test runner for exconnectd's end-to-end suites (CAF's test framework defines main
// here).
#include <caf/test/unit_test_impl.hpp>
