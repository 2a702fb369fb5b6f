// Boost.JSON compiled into the fuzz build (its header-only form), so that
// the JSON parser under fuzz_api_bodies is instrumented; see CMakeLists.txt.
#include <boost/json/src.hpp>
