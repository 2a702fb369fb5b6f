// toml++'s configuration in the fuzz build, included before anything else
// in the targets that use it (CMakeLists.txt: -include): the library as
// Debian's libtomlplusplus.so runs it. That one is built by g++ with NDEBUG,
// where its internal asserts and assumptions are no-ops; under clang without
// NDEBUG they would abort, and with it a false assumption would be undefined
// behaviour (tomlplusplus#301: "[?" reaches parse_key() with a character no
// key starts with; the parser then reports the error itself).
#pragma once

#define TOML_HEADER_ONLY 1
#define TOML_ASSERT(expr) static_cast<void>(0)
