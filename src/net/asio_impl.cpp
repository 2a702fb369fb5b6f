// The one translation unit that compiles Boost.Asio, Asio's SSL layer and
// Boost.Beast.
//
// With BOOST_ASIO_SEPARATE_COMPILATION and BOOST_BEAST_SEPARATE_COMPILATION
// (set by CMake on the ringkv_asio target) every other file sees declarations
// only; the implementations are built here once. This keeps rebuilds of the
// files that include Asio short on a 2-core machine.
// Nothing else belongs in this file.
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
