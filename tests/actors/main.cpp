// The runner for the actors' unit tests (CAF's deterministic test coordinator).
#include <caf/test/unit_test_impl.hpp>
