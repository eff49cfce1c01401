// Asio/Beast separate compilation: the one translation unit that compiles Asio's, Asio SSL's and
// Beast's implementation (BOOST_ASIO_SEPARATE_COMPILATION / BOOST_BEAST_SEPARATE_COMPILATION are
// set by claimgate_asio for every target that includes them).
#include <boost/asio/impl/src.hpp>
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
